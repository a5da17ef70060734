# cloudstack.ovs — developer and CI entry points.
#   make lab        create 3 SSH-reachable lab hosts and run playbooks/lab.yml against them
#                   (make lab HOSTS=32 NETWORKS=8: a mesh-only fleet and gre_mesh.yml over it)
#   make lab-down   remove everything the lab created
#   make test       sanity (the venv's, oldest and newest ansible-core; antsibull-docs) + lint + units +
#                   the integration suite on the real testbed (with the artifact's checks) + molecule
SHELL := /bin/bash
ROOT := $(abspath .)
VENV := $(ROOT)/.venv
PY := $(VENV)/bin/python
# The collection must sit below ansible_collections/<ns>/<name>: a symlink serves imports and
# ansible-playbook, an rsync copy serves ansible-test (which resolves the real path).
COLL_LINK := $(ROOT)/.build/link/ansible_collections/cloudstack/ovs
COLL_COPY := $(ROOT)/.build/copy/ansible_collections/cloudstack/ovs
export ANSIBLE_COLLECTIONS_PATH := $(ROOT)/.build/link
export PATH := $(VENV)/bin:$(PATH)

.PHONY: all deps venv testbed-path link copy lab lab-down test sanity docs-lint units system molecule bench bench-fleet bench-doctor build docs lint clean

all: test

# System packages (Debian 12). Skipped when everything is there already, so re-runs are quick.
deps:
	@bash .ci/install-system-deps

$(VENV)/.stamp: requirements.txt tests/requirements.txt
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -r tests/requirements.txt
	touch $@

# The testbed (tests/testbed) is a package for every Python of the venv - make lab, the benches,
# pytest, molecule, `python -m testbed`: a .pth file in the venv's site-packages names tests/.
# Written when missing or naming another directory, so an existing venv gets it too.
TESTBED_PTH = cloudstack_ovs_testbed.pth
testbed-path:
	@[ -x $(PY) ] || { echo "no virtualenv in $(VENV): run make venv" >&2; exit 1; }
	@site=$$($(PY) -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])') && \
	  if [ "$$(cat "$$site/$(TESTBED_PTH)" 2>/dev/null)" != "$(ROOT)/tests" ]; then \
	    echo "$(ROOT)/tests" > "$$site/$(TESTBED_PTH)" && echo "$$site/$(TESTBED_PTH) -> $(ROOT)/tests"; \
	  fi

venv: deps $(VENV)/.stamp link
	@$(MAKE) --no-print-directory testbed-path

link:
	@mkdir -p $(dir $(COLL_LINK))
	@ln -sfn $(ROOT) $(COLL_LINK)

copy: link
	@mkdir -p $(COLL_COPY)
	@rsync -a --delete --exclude .git --exclude .venv --exclude .build --exclude lab/run --exclude lab/out \
	  --exclude tests/output --exclude __pycache__ --exclude .pytest_cache $(ROOT)/ $(COLL_COPY)/
	@# ansible-test lists the collection's files through git: index the copy (no commit needed).
	@cd $(COLL_COPY) && { [ -d .git ] || git init -q .; } && git add -A . >/dev/null

lab: venv
	PYTHONPATH=$(ANSIBLE_COLLECTIONS_PATH) $(PY) lab/lab.py up $(if $(HOSTS),--hosts $(HOSTS)) $(if $(NETWORKS),--networks $(NETWORKS))

lab-down: link testbed-path
	PYTHONPATH=$(ANSIBLE_COLLECTIONS_PATH) $(PY) lab/lab.py down

test: venv
	$(MAKE) sanity lint units system molecule

# ansible-test sanity on the venv's ansible-core and on the oldest and the newest one
# meta/runtime.yml's requires_ansible claims (venvs of their own from
# tests/requirements-core-{oldest,newest}.txt; the newest needs Python 3.12, from pyenv here),
# then the docs site's checks of every plugin's and role's documentation.
OLDEST_VENV := $(ROOT)/.build/venv-core-oldest
NEWEST_VENV := $(ROOT)/.build/venv-core-newest
sanity: copy
	bash .ci/sanity $(COLL_COPY)
	oldest=$$(bash .ci/core-venv tests/requirements-core-oldest.txt $(OLDEST_VENV)) && \
	  PATH=$$oldest/bin:$$PATH bash .ci/sanity $(COLL_COPY)
	py=$$(bash .ci/core-python 3.12) && \
	  newest=$$(bash .ci/core-venv tests/requirements-core-newest.txt $(NEWEST_VENV) $$py) && \
	  PATH=$$newest/bin:$$PATH bash .ci/sanity $(COLL_COPY) 3.12
	@$(MAKE) --no-print-directory docs-lint

docs-lint: link
	antsibull-docs lint-collection-docs --plugin-docs $(COLL_LINK)

units: copy
	bash .ci/ansible-test-prep $(PY)
	cd $(COLL_COPY) && ansible-test units --local --python 3.11 --requirements --color no

system: link testbed-path
	$(PY) -m pytest -p no:cacheprovider tests/system -v -ra

# kvm_host.yml on three lab hosts: converge, idempotence, verify (extensions/molecule/default).
molecule: link testbed-path
	cd extensions && molecule test

bench: venv
	$(PY) bench/gre_mesh.py

# gre_mesh.yml over fleets of 8, 32, 64, 128 lab hosts against Ansible's floor (docs/scale.md;
# about an hour: not part of make test).
bench-fleet: link testbed-path
	$(PY) bench/fleet.py $(BENCH_FLEET_ARGS)

# The mesh doctor against one idempotent gre_mesh.yml run on a 3-host lab (docs/mesh-doctor.md).
bench-doctor: link testbed-path
	$(PY) bench/mesh_doctor.py $(BENCH_DOCTOR_ARGS)

build: copy
	cd $(COLL_COPY) && ansible-galaxy collection build --force --output-path $(ROOT)/.build/dist

# make ee / make ee-test, not part of make test: the execution environment
# (docs/execution-environment.md) - execution-environment.yml built by ansible-builder with podman
# on a Debian 12 base made here (debootstrap, podman import), then kvm_host.yml, gre_mesh.yml and
# mesh_doctor.yml run in it twice with ansible-runner against 3 lab hosts. Root only; the tests/
# of this checkout come first (tests/ee, tests/testbed).
EE_PY := PYTHONPATH=$(ROOT)/tests $(PY)
.PHONY: ee-deps ee ee-test
ee-deps:
	@bash .ci/install-system-deps ee

ee: ee-deps venv
	rm -rf .build/dist
	$(MAKE) --no-print-directory build
	$(EE_PY) -m ee.image $(EE_ARGS)

ee-test: ee-deps link
	$(EE_PY) -m ee.job $(EE_TEST_ARGS)

# ansible-lint (profile production, .ansible-lint) on roles and playbooks, offline: this
# collection through the link, ngine_io.cloudstack (playbooks/zone.yml) from a test-only copy.
lint: link
	test_collections=$$(bash .ci/ngine-io-collection $(PY)) && \
	  ANSIBLE_COLLECTIONS_PATH=$(ROOT)/.build/link:$$test_collections ansible-lint --offline roles playbooks

# ansible-doc of every module, filter and role into .build/docs (not committed); docs/index.md
# links the hand-written pages.
docs: link
	@rm -rf .build/docs && mkdir -p .build/docs
	@bad=; \
	for f in plugins/modules/*.py; do m=$$(basename $$f .py); \
	  ANSIBLE_NOCOLOR=1 ansible-doc -t module cloudstack.ovs.$$m > .build/docs/module-$$m.txt || bad="$$bad module:$$m"; done; \
	for f in plugins/filter/*.yml; do n=$$(basename $$f .yml); \
	  ANSIBLE_NOCOLOR=1 ansible-doc -t filter cloudstack.ovs.$$n > .build/docs/filter-$$n.txt || bad="$$bad filter:$$n"; done; \
	for d in roles/*/; do r=$$(basename $$d); \
	  ANSIBLE_NOCOLOR=1 ansible-doc -t role cloudstack.ovs.$$r > .build/docs/role-$$r.txt || bad="$$bad role:$$r"; done; \
	ls .build/docs | sed 's|^|.build/docs/|'; \
	if [ -n "$$bad" ]; then echo "ansible-doc failed for:$$bad" >&2; exit 1; fi

clean: lab-down
	rm -rf .build
