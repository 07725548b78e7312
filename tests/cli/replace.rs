//! `--force-replace` and `--take-ownership` of fields held by other managers (issue 10).
