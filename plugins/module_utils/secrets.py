# Copyright: contributors to cloudstack.ovs
# Apache License 2.0 (see LICENSE)
"""Which names hold secrets, and how the modules keep their values out of every output.

One rule for the whole collection (agent.properties keys, XML attribute names):

* The name is split into words on every character that is not a letter or digit and at
  every lower-to-upper case change (``keystorePassword`` -> ``keystore``, ``password``),
  then lowercased.
* The name is secret when one word *contains* one of :data:`SECRET_WORDS`, or *is or ends
  in* one of :data:`SECRET_ENDINGS` (``pass``, ``dbpass``, ``pwd``, ``keystorepw``,
  ``cred``, ``apikey``), unless the word is one of :data:`NOT_SECRET_WORDS` (``bypass``).
  Trailing digits of a word do not count (``pass2`` is ``pass``).

The rule errs on the side of hiding: a hidden value only makes a diff less telling, a
shown one cannot be taken back.

Ansible side (see :func:`narrow_no_log`): an option that *may* carry secrets (a dict of
properties, raw XML) is declared ``no_log=True``, so AnsibleModule's "Invoked with ..."
line in syslog/journal never has it, and every value of it is scrubbed from any output,
including early failures. Once the module knows which values are secret it narrows the
scrubbing to those, so the diff and ``invocation`` still show everything else.
"""

import re

MASK = '********'

# A word containing one of these is secret.
SECRET_WORDS = ('password', 'passwd', 'passphrase', 'passcode', 'secret', 'token',
                'credential')
# A word that is, or ends in, one of these is secret.
SECRET_ENDINGS = ('pass', 'pwd', 'pw', 'cred', 'creds', 'key', 'keys')
# Words the endings would catch that are not secrets.
NOT_SECRET_WORDS = ('bypass', 'compass', 'surpass', 'sacred', 'hotkey', 'hotkeys')

_WORD_RE = re.compile(r'[A-Z]+(?![a-z])|[A-Z]?[a-z0-9]+|[A-Z]')


def name_words(name):
    """The lowercased words of a name: ``keystore.passphrase`` -> ``['keystore',
    'passphrase']``, ``dbPwd`` -> ``['db', 'pwd']``, ``APIKey`` -> ``['api', 'key']``."""
    words = []
    for chunk in re.split(r'[^A-Za-z0-9]+', name):
        words.extend(w.lower() for w in _WORD_RE.findall(chunk))
    return words


def _word_is_secret(word):
    word = word.rstrip('0123456789')
    if word in NOT_SECRET_WORDS:
        return False
    if any(s in word for s in SECRET_WORDS):
        return True
    return any(word.endswith(e) for e in SECRET_ENDINGS)


def is_secret_name(name, extra=()):
    """True when values under ``name`` must never be shown (see the module docstring).
    ``extra`` names are secret whatever they look like."""
    if name in extra:
        return True
    if not isinstance(name, str):
        return False
    return any(_word_is_secret(w) for w in name_words(name))


def value_strings(value):
    """Every string a value would show as (nested lists/dicts walked; numbers as text)."""
    out = set()
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, bool) or item is None:
            continue
        if isinstance(item, (str, bytes)):
            if item:
                out.add(item.decode('utf-8', 'replace') if isinstance(item, bytes) else item)
        elif isinstance(item, (int, float)):
            out.add(str(item))
        elif isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, (list, tuple, set)):
            stack.extend(item)
        else:
            out.add(str(item))
    return out


def narrow_no_log(module, option, secrets):
    """``option`` is declared ``no_log=True``: AnsibleModule has not logged it and would
    scrub all of its values from the output. Keep only ``secrets`` (strings) scrubbed, so
    the rest of the option shows in ``invocation`` and the diff again. Values that other
    no_log options hold stay scrubbed."""
    own = value_strings(module.params.get(option))
    others = set()
    for name, spec in module.argument_spec.items():
        if name != option and spec.get('no_log'):
            others |= value_strings(module.params.get(name))
    module.no_log_values.difference_update(own - others)
    module.no_log_values.update(s for s in secrets if s)
