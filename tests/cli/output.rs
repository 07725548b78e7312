//! What users see: the plain and TTY progress renderers, -v/-vv, and the -o json schemas (issue 12).
