# SPDX-License-Identifier: GPL-2.0-only
#
# Sphinx configuration of the xiova documentation. tools/docs/build.sh
# builds it with Debian's python3-sphinx, offline, warnings as errors,
# with the built-in theme and one extension: the kernel's kerneldoc, which
# turns the sources' kernel-doc comments into the API reference. The
# script sets XIOVA_KERNEL_DOC to the directory holding the kernel's
# scripts/kernel-doc and Documentation/sphinx/.

import os
import pathlib
import sys

project = 'xiova'
# One version number for the tree, shared with dkms.conf.
release = (pathlib.Path(__file__).parent.parent / 'VERSION').read_text().strip()
version = release

master_doc = 'index'
exclude_patterns = []

_kernel = pathlib.Path(os.environ.get('XIOVA_KERNEL_DOC', ''))
if not (_kernel / 'scripts' / 'kernel-doc').is_file():
    sys.exit('conf.py: set XIOVA_KERNEL_DOC (tools/docs/build.sh does)')
sys.path.insert(0, str(_kernel / 'Documentation' / 'sphinx'))
extensions = ['kerneldoc']
kerneldoc_bin = str(_kernel / 'scripts' / 'kernel-doc')
kerneldoc_srctree = str(pathlib.Path(__file__).parent.parent)
# Kernel attributes the C domain must take as such in declarations.
c_id_attributes = ['__always_inline', '__percpu', '__must_check', 'noinline',
                   '__init', '__exit']
language = 'en'

html_theme = 'alabaster'
html_title = f'xiova {release}'
html_static_path = []
# Sources stay in the repository; do not copy them into the HTML tree.
html_copy_source = False
html_show_sourcelink = False
