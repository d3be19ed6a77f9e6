"""One step through the data flow, pure: ink -> recogniser -> LaTeX -> sympy -> verdict.

See docs/INTERFACES.md; the window calls these from QThreadPool workers, the CLI calls them directly.
"""
