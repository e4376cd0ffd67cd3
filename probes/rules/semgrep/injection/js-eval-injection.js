const vm = require('vm');

function calculate(req) {
  const expression = new URL(req.url, 'http://localhost').searchParams.get('expr');
  // ruleid: js-eval-injection
  return eval(expression);
}

function compileRule(body) {
  // ruleid: js-eval-injection
  return new Function('order', body);
}

function sandbox(code) {
  // ruleid: js-eval-injection
  return vm.runInNewContext(code, {});
}

function later(name) {
  // ruleid: js-eval-injection
  setTimeout('notify("' + name + '")', 100);
}

function constant() {
  // ok: js-eval-injection
  return eval('1 + 2');
}

function timer(done) {
  // ok: js-eval-injection
  setTimeout(() => done(), 100);
  // ok: js-eval-injection
  setInterval(done, 1000);
}

function parse(text) {
  // ok: js-eval-injection
  return JSON.parse(text);
}

module.exports = { calculate, compileRule, sandbox, later, constant, timer, parse };
