import ast


def calculate(request):
    expression = request.args.get("expr")
    # ruleid: python-eval-injection
    return eval(expression)


def run_snippet(source, namespace):
    # ruleid: python-eval-injection
    exec(source, namespace)


def build(text):
    # ruleid: python-eval-injection
    return compile("x = " + text, "<input>", "exec")


def constant():
    # ok: python-eval-injection
    return eval("1 + 2")


def parse(request):
    # ok: python-eval-injection
    return ast.literal_eval(request.args.get("value"))
