"""Our behavioural test suite (MFT / INV / DIR, CheckList methodology): templates, vocabulary and a runner.

``generate(half="fit"|"check", seed=0)`` gives the cases; :func:`affectlens.behaviour.runner.run_behaviour`
scores them with any scorer and reports failure rates per test. Cheap to import (no engine, no numpy).
"""

from affectlens.behaviour.runner import run_behaviour
from affectlens.behaviour.suite import SUITE, BehaviourCase, BehaviourTest, generate

__all__ = ["SUITE", "BehaviourCase", "BehaviourTest", "generate", "run_behaviour"]
