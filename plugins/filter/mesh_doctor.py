# Copyright: contributors to cloudstack.ovs
# Apache License 2.0 (see LICENSE)
"""The mesh doctor's zone report, from every host's ``gre_mesh_info`` (documented in
``plugins/filter/mesh_doctor_report.yml``; the analysis lives in ``module_utils/mesh_doctor.py``,
the rendering in ``module_utils/mesh_report.py``)."""

from ansible_collections.cloudstack.ovs.plugins.module_utils import mesh_doctor, mesh_report
from ansible_collections.cloudstack.ovs.plugins.plugin_utils.filter_errors import filter_errors


@filter_errors()
def mesh_doctor_report(hosts, image='mesh.svg'):
    """Findings, pair matrix, Markdown report and DOT picture of the zone's GRE mesh."""
    result = mesh_doctor.diagnose(hosts)
    result['markdown'] = mesh_report.markdown(result, image=image)
    result['dot'] = mesh_report.picture(result)
    # JSON object keys are strings
    result['networks'] = dict((str(k), v) for k, v in result['networks'].items())
    return result


class FilterModule(object):
    def filters(self):
        return {'mesh_doctor_report': mesh_doctor_report}
