//! The `orq-tests` package holds only test targets; each test file carries its own helpers.
