//! Report writers: JSONL, CSV, timeline, Markdown and self-contained HTML.

#![deny(missing_docs)]
