# Copyright: contributors to cloudstack.ovs
# Apache License 2.0 (see LICENSE)
"""The execution environment image, built and used here (docs/execution-environment.md).

``ee.image``: the Debian 12 base (testbed.rootfs, imported into podman) and ``ansible-builder
build`` with execution-environment.yml (``make ee``). ``ee.job``: lab hosts and jobs run in the
image as AWX runs them, ``ansible-runner`` in the container (``make ee-test``). ``ee.podman``:
how podman runs on this machine kind.
"""
