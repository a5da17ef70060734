# Copyright: contributors to cloudstack.ovs
# Apache License 2.0 (see LICENSE)
"""Every filter of the collection is registered once and documented by its own YAML file
(what ``ansible-doc -t filter cloudstack.ovs.<name>`` shows), and every doc file names a filter."""

import glob
import importlib
import os

import pytest
import yaml

from ansible_collections.cloudstack.ovs.plugins import filter as filter_package

FILTER_DIR = list(filter_package.__path__)[0]  # a namespace package: no __file__
MODULES = sorted(os.path.splitext(os.path.basename(p))[0]
                 for p in glob.glob(os.path.join(FILTER_DIR, '*.py')) if not p.endswith('__init__.py'))


def registered():
    names = []
    for module in MODULES:
        plugin = importlib.import_module('ansible_collections.cloudstack.ovs.plugins.filter.' + module)
        names.extend(plugin.FilterModule().filters())
    return names


NAMES = registered()


def test_filters_are_registered_once_and_every_doc_file_names_one():
    assert NAMES and len(NAMES) == len(set(NAMES))
    docs = sorted(os.path.splitext(os.path.basename(p))[0]
                  for p in glob.glob(os.path.join(FILTER_DIR, '*.yml')))
    assert docs == sorted(NAMES)


@pytest.mark.parametrize('name', NAMES)
def test_every_filter_has_its_doc_file(name):
    with open(os.path.join(FILTER_DIR, name + '.yml')) as handle:
        doc = yaml.safe_load(handle)
    assert set(doc) == {'DOCUMENTATION', 'EXAMPLES', 'RETURN'}
    assert doc['DOCUMENTATION']['name'] == name
    assert doc['DOCUMENTATION']['short_description']
    assert doc['DOCUMENTATION']['options']['_input']['required'] is True
    assert 'cloudstack.ovs.%s' % name in doc['EXAMPLES']
    assert '_value' in doc['RETURN']
