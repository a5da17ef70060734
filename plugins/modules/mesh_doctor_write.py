#!/usr/bin/python
# Copyright: contributors to cloudstack.ovs
# Apache License 2.0 (see LICENSE)

DOCUMENTATION = r'''
module: mesh_doctor_write
short_description: Compute and write the mesh doctor's zone report on the control node
version_added: 0.2.0
description:
  - Compares every host's side of the GRE mesh (the filter C(cloudstack.ovs.mesh_doctor_report))
    and writes the report into O(dest) on the control node - C(report.md) (findings with their fix,
    host-pair matrix per network, the mesh picture), C(report.json) (the same for machines),
    C(mesh.dot) and C(mesh.svg) (when Graphviz' C(dot) is installed on the control node).
  - An action that runs in the controller's own process - one task where a C(set_fact), a
    directory, three copies and a C(dot) command each started a module process; it never touches a
    managed host. The playbook C(cloudstack.ovs.mesh_doctor) calls it once.
  - Fails the task, after writing the report, as O(fail_on) says.
  - Files whose content is unchanged are not rewritten.
author:
  - cloudstack.ovs contributors (@cloudstack-ovs)
options:
  hosts:
    description:
      - One entry per host of the mesh, as the filter C(cloudstack.ovs.mesh_doctor_report) takes them -
        C(name), C(host_id), C(underlay_ip), C(networks), optional C(local_ip), C(info) (the
        M(cloudstack.ovs.gre_mesh_info) result, or null) and C(error).
      - Exactly one of O(hosts) and O(members) is required. For a zone, O(members) - templating every
        host's reading into this argument costs the controller more than the rest of the doctor.
    type: list
    elements: dict
  members:
    description:
      - The hosts of the mesh by inventory name. Each host's entry is made from its host variables -
        C(cloudstack_host_id), C(cloudstack_underlay_ip), C(cloudstack_gre_local_ip),
        C(cloudstack_gre_networks) (templated as the play would) - and its registered
        M(cloudstack.ovs.gre_mesh_info) result named by O(reading), taken as it was registered,
        without templating it (a reading returned as one JSON document, M(cloudstack.ovs.gre_mesh_info)'s
        C(return_format=json), is decoded here, once). A host without that result, or whose result
        has neither C(bridges) nor C(reading_json) (it failed, or was unreachable), is reported as
        unreadable with the result's C(msg).
    type: list
    elements: str
    version_added: 0.3.0
  reading:
    description: The variable each of O(members) registered its M(cloudstack.ovs.gre_mesh_info) result in.
    type: str
    default: mesh_doctor_info
    version_added: 0.3.0
  dest:
    description: Directory of the report on the control node; created when missing.
    type: path
    required: true
  fail_on:
    description:
      - When the task fails (after the report is written) - C(error) when any error is found (to
        gate a job template or CI), C(warning) also on warnings, C(never) only reports.
      - Each finding is printed on the console, with its fix.
    type: str
    choices: [error, warning, never]
    default: error
  dot_timeout:
    description:
      - Seconds Graphviz' C(dot) may take to draw C(mesh.svg).
      - Above 500 links (host pairs x networks) the picture is laid out with C(dot -Ksfdp) - C(dot)'s own
        layout did not finish 32 hosts x 8 networks within 60 s, C(sfdp) took 2.5 s.
      - Above 4,000 links (32 hosts x 8 networks are 3,968) the picture draws every host and bridge but
        only the broken links (at most 1,100 of them), and its title and C(report.md) say how many
        links were left out - C(sfdp) did not lay out 128 hosts x 8 networks (65,024 links) within
        60 s, and such a picture is unreadable. C(report.md) and C(report.json) hold every host pair.
    type: int
    default: 60
  return_report:
    description:
      - What the task result's RV(report) holds. V(full) - all of C(report.json), as in 0.2.0.
        V(summary) - all of it but C(networks) (the host-pair matrix of each network, hosts x hosts x
        networks - 7.7 MB at 128 hosts x 8 networks, which Ansible copies through its result pipeline
        and every callback, and AWX stores as one job event); every finding is kept.
      - C(report.json) in O(dest) holds the whole report either way.
    type: str
    choices: [full, summary]
    default: full
    version_added: 0.3.0
attributes:
  action:
    support: full
    description: Runs in the controller's own process; never on a managed host.
  check_mode:
    support: none
    description: The report is written in check mode too; managed hosts are never written.
  diff_mode:
    support: none
    description: Nothing to show; the files are the report.
seealso:
  - module: cloudstack.ovs.gre_mesh_info
'''

EXAMPLES = r'''
- name: Write the zone report from every host's registered reading
  cloudstack.ovs.mesh_doctor_write:
    members: "{{ groups['kvm_hosts'] }}"
    reading: mesh_info
    dest: /tmp/mesh-doctor
    return_report: summary  # the host-pair matrix stays in report.json
  run_once: true

- name: Write the zone report
  cloudstack.ovs.mesh_doctor_write:
    hosts:
      - {name: kvm1, host_id: 1, underlay_ip: 192.0.2.11, networks: [1001], info: "{{ hostvars.kvm1.mesh_info }}"}
      - {name: kvm2, host_id: 2, underlay_ip: 192.0.2.12, networks: [1001], info: "{{ hostvars.kvm2.mesh_info }}"}
    dest: /tmp/mesh-doctor
  register: doctor
'''

RETURN = r'''
report:
  description:
    - The zone report as C(report.json) holds it - C(clean) (no error), C(errors) and C(warnings)
      counts, C(hosts), C(findings) (each with C(kind), C(severity), C(title), C(host), C(network),
      C(peer), C(port), C(what), C(fix), C(pairs) - the host pairs it breaks) and C(networks) (by
      GRE key - C(hosts) and C(pairs), each C(a), C(b), C(ok), C(why)), C(tunnel_traces) and
      C(unchecked).
    - Without C(networks) when O(return_report=summary).
  returned: success
  type: dict
dest:
  description: O(dest) as given.
  returned: success
  type: str
files:
  description: The files of the report in O(dest).
  returned: success
  type: list
  elements: str
  sample: [mesh.dot, mesh.svg, report.json, report.md]
msg:
  description: The counts of errors and warnings and where the report is.
  returned: always
  type: str
  sample: "mesh doctor: 0 error(s), 0 warning(s); report in /tmp/mesh-doctor/report.md"
svg:
  description: Whether C(mesh.svg) was drawn.
  returned: success
  type: bool
svg_error:
  description: Why C(mesh.svg) was not drawn, or null.
  returned: success
  type: str
'''
