"""The import-cycle check finds circles, and only in code: not in tests or comments."""
import sys
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import import_cycles  # noqa: E402


class ImportCyclesTest(unittest.TestCase):
    def test_a_circle_of_three_is_found_once_and_a_chain_is_not_a_circle(self):
        edges = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
        self.assertEqual(import_cycles.cycles(edges), [("a", "b", "c")])
        self.assertEqual(import_cycles.cycles({"a": {"b"}, "b": {"c"}, "c": set()}), [])

    def test_two_modules_that_name_each_other_are_a_circle(self):
        modules = {
            "runner": [(Path("runner.rs"), "use crate::registry::Services;\n")],
            "registry": [(Path("registry.rs"), "use crate::{runner::Options, stack};\n")],
            "stack": [(Path("stack.rs"), "")],
        }
        edges = import_cycles.rust_imports(modules)
        self.assertEqual(edges["registry"], {"runner", "stack"})
        self.assertEqual(import_cycles.cycles(edges), [("registry", "runner")])

    def test_names_in_comments_and_test_modules_are_not_imports(self):
        modules = {
            "metrics": [(Path("metrics.rs"), "//! printed by [`crate::telemetry`]\npub const T: &str = \"x\";\n")],
            "telemetry": [(Path("telemetry.rs"), "use crate::metrics::T;\n")],
            "model": [(Path("model.rs"), "fn f() {}\n#[cfg(test)]\nmod tests { use crate::metrics; }\n")],
        }
        edges = import_cycles.rust_imports(modules)
        self.assertEqual(edges, {"metrics": set(), "telemetry": {"metrics"}, "model": set()})
        self.assertEqual(import_cycles.cycles(edges), [])


if __name__ == "__main__":
    unittest.main()
