import os
import sys

# ``reference`` is a plain module beside the tests.
sys.path.insert(0, os.path.dirname(__file__))
