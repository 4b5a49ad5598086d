// What a reader of /docs sees and does, in Swagger UI's terms, so the tests read as the reader's
// story and Swagger UI's markup is known in this one file.
import { errors, type Locator, type Page, type Response } from 'playwright-core';

interface ListedOperation {
  operationId: string;
  method: string;
  path: string;
}

interface ParameterRow {
  name: string;
  in: string;
}

interface Execution {
  /** The request Swagger UI actually sent, and the server's answer to it. */
  response: Response;
  /** The live response as the page shows it under "Server response". */
  shown: { status: number; body: string };
}

export const byNameAndPlace = (a: ParameterRow, b: ParameterRow) =>
  `${a.in}:${a.name}`.localeCompare(`${b.in}:${b.name}`);

export class SwaggerUiPage {
  readonly page: Page;

  private constructor(page: Page) {
    this.page = page;
  }

  /** Opens the docs and waits until the spec is rendered. */
  static async open(page: Page, baseUrl: string): Promise<SwaggerUiPage> {
    const response = await page.goto(`${baseUrl}/docs/`);
    if (!response?.ok()) throw new Error(`GET /docs/ answered ${response?.status()}`);
    await page.locator('.swagger-ui .opblock').first().waitFor();
    return new SwaggerUiPage(page);
  }

  /**
   * Signs in as a reader does: "Authorize", the bearer token, "Authorize", "Close". Swagger UI
   * then sends `Authorization: Bearer <token>` with every "Execute" (and, with
   * persistAuthorization, keeps the token in this profile's localStorage across reloads).
   */
  async authorize(token: string): Promise<void> {
    await this.page.locator('.swagger-ui .auth-wrapper button.authorize').click();
    const dialog = this.page.locator('.swagger-ui .modal-ux');
    await dialog.getByLabel('auth-bearer-value').fill(token);
    await dialog.getByRole('button', { name: 'Apply credentials' }).click();
    await dialog.getByRole('button', { name: 'Close' }).click();
    await dialog.waitFor({ state: 'detached' });
    await this.page.locator('.swagger-ui .auth-wrapper button.authorize.locked').waitFor();
  }

  /** The operations listed on the page, as Swagger UI shows them (displayOperationId is on). */
  async listedOperations(): Promise<ListedOperation[]> {
    return this.page.locator('.swagger-ui .opblock').evaluateAll((blocks) =>
      blocks.map((block) => ({
        operationId: block.querySelector('.opblock-summary-operation-id')?.textContent?.trim() ?? '',
        method: block.querySelector('.opblock-summary-method')?.textContent?.trim() ?? '',
        path: block.querySelector('.opblock-summary-path')?.getAttribute('data-path') ?? '',
      })),
    );
  }

  /** An operation's block; Swagger UI gives it the id `operations-<tag>-<operationId>`. */
  operation(operationId: string): Locator {
    return this.page.locator(`.swagger-ui .opblock[id^="operations-"][id$="-${operationId}"]`);
  }

  /** Opens an operation's block (if it is not open yet). */
  async expand(operationId: string): Promise<Locator> {
    const block = this.operation(operationId);
    if (!(await block.getAttribute('class'))?.split(/\s+/).includes('is-open')) {
      await block.locator('.opblock-summary').first().click();
    }
    await block.locator('.opblock-body').waitFor();
    return block;
  }

  /**
   * The parameters an open operation shows, by name and place, sorted. Swagger UI renders an
   * operation first as written and again once its $refs are resolved, so this waits (up to the
   * default timeout) for `expected`, and answers what is shown either way: compare it to
   * `expected` to get a readable failure.
   */
  async parametersShown(operationId: string, expected: ParameterRow[]): Promise<ParameterRow[]> {
    const rows = this.operation(operationId).locator('table.parameters > tbody > tr');
    const read = async () =>
      (
        await rows.evaluateAll((trs) =>
          trs.map((tr) => ({
            name: tr.getAttribute('data-param-name') ?? '',
            in: tr.getAttribute('data-param-in') ?? '',
          })),
        )
      ).sort(byNameAndPlace);
    const want = [...expected].sort(byNameAndPlace);
    const selectors = want.map(
      (p) => `table.parameters > tbody > tr[data-param-name="${p.name}"][data-param-in="${p.in}"]`,
    );
    const block = await this.operation(operationId).elementHandle();
    await this.page
      .waitForFunction(
        ({ block, selectors, count }) =>
          block.querySelectorAll('table.parameters > tbody > tr').length === count &&
          selectors.every((s) => block.querySelector(s)),
        { block, selectors, count: want.length },
        { timeout: 5_000 },
      )
      .catch((err: unknown) => {
        // Not there in time: the caller's comparison says what is shown instead.
        if (!(err instanceof errors.TimeoutError)) throw err;
      });
    await block.dispose();
    return read();
  }

  /**
   * Opens an operation, clicks "Try it out", fills the given path parameters and (when given) the
   * JSON body, clicks "Execute" and waits for the live response.
   */
  async tryItOut(operationId: string, input: { path?: Record<string, string>; body?: unknown }): Promise<Execution> {
    const block = await this.expand(operationId);
    await block.getByRole('button', { name: 'Try it out' }).click();
    for (const [name, value] of Object.entries(input.path ?? {})) {
      await block.locator(`tr[data-param-name="${name}"][data-param-in="path"] input`).fill(value);
    }
    if (input.body !== undefined) {
      await block.locator('textarea.body-param__text').fill(JSON.stringify(input.body, null, 2));
    }
    const [response] = await Promise.all([
      this.page.waitForResponse(
        (r) => r.request().resourceType() === 'fetch' && new URL(r.url()).pathname.startsWith('/api/'),
      ),
      block.getByRole('button', { name: 'Execute' }).click(),
    ]);
    const live = block.locator('.live-responses-table tr.response');
    const status = live.locator('.response-col_status');
    await status.waitFor();
    return {
      response,
      shown: {
        status: Number((await status.textContent())?.trim()),
        body: (await live.locator('.response-col_description pre').first().textContent()) ?? '',
      },
    };
  }
}
