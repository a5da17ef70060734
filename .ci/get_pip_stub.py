"""Offline stand-in for the pip bootstrap script ansible-test downloads.

ansible-test runs this file (saved as ~/.ansible/test/cache/get_pip_<version>.py) inside each
fresh sanity/units virtual environment. The download URL is unreachable here, so this
installs pip from the pip wheel cached next to it (fetched from PyPI by .ci/ansible-test-prep);
the remaining arguments are handed to `pip install` like the real script does.
"""
import glob
import os
import sys

here = os.path.dirname(os.path.abspath(__file__))
wheels = sorted(glob.glob(os.path.join(here, 'pip-*-py3-none-any.whl')))
if not wheels:
    sys.exit('no pip wheel next to %s; run .ci/ansible-test-prep' % __file__)

args = [a for a in sys.argv[1:] if a not in ('--no-setuptools', '--no-wheel')]
# pip runs from its own wheel (``python pip-<version>.whl/pip``, as pip documents), in place of
# this process: nothing is added to sys.path here.
pip = os.path.join(wheels[-1], 'pip')
os.execv(sys.executable, [sys.executable, pip, 'install', '--find-links', here] + args)
