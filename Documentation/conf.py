# SPDX-License-Identifier: GPL-2.0-only
#
# Sphinx configuration of the xiova documentation. tools/docs/build.sh
# builds it with Debian's python3-sphinx, offline, warnings as errors: no
# extension, nothing fetched, the built-in theme.

import pathlib

project = 'xiova'
# One version number for the tree, shared with dkms.conf.
release = (pathlib.Path(__file__).parent.parent / 'VERSION').read_text().strip()
version = release

master_doc = 'index'
exclude_patterns = []
extensions = []
language = 'en'

html_theme = 'alabaster'
html_title = f'xiova {release}'
html_static_path = []
# Sources stay in the repository; do not copy them into the HTML tree.
html_copy_source = False
html_show_sourcelink = False
