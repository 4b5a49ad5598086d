// Runs before every npm script that needs a recent Node (see the pre* scripts in package.json).
// Deliberately old-fashioned JavaScript (CommonJS, no newer syntax), so that even a very old Node
// gets far enough to say, in one line, what to do, instead of failing on an unknown option.
'use strict';

var path = require('path');
var pkg = require(path.join(__dirname, '..', 'package.json'));

// package.json's "engines" is the one place that says which Node the code needs; its lowest
// version ("^22.18.0 || >=24" → 22.18.0) is the floor checked here.
var wanted = /(\d+)\.(\d+)\.(\d+)/.exec(pkg.engines.node);
if (!wanted) {
  console.error('scripts/preflight.cjs finds no version in engines.node (got "' + pkg.engines.node + '")');
  process.exit(1);
}
var have = process.versions.node.split('.').map(Number);
var need = wanted.slice(1).map(Number);
var tooOld = false;
for (var i = 0; i < 3; i++) {
  if (have[i] !== need[i]) {
    tooOld = have[i] < need[i];
    break;
  }
}
if (tooOld) {
  var message = [
    'Tasks API needs Node.js ' + pkg.engines.node,
    'but this is Node.js ' + process.versions.node + ' (' + process.execPath + '):',
    'run "npm ci" (it installs Node ' + pkg.dependencies.node + ' into node_modules; not with --ignore-scripts),',
    'or switch to the Node of .nvmrc (e.g. "nvm use").',
  ].join(' ');
  console.error(message);
  process.exit(1);
}
