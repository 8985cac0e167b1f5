"""`make bench`. Benchmarks run local stacks: their processes use the development keys."""
from shared.runtime.launcher import use_development_keys

use_development_keys()
