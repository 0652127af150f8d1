"""The README's first example, as a user types it."""
from engine import Value


def test_readme_example_gives_the_documents_gradients():
    w, b = Value(2.3, label="w"), Value(-1.2, label="b")
    x, y = Value(0.0, label="x"), Value(1.0, label="y")
    C = ((w * x + b).tanh() - y) ** 2
    C.backward()
    assert w.grad == 0.0
    assert b.grad == -1.1186026425530913
