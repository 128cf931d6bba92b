//! Output formatting, the way Docker's CLI does it: Go templates for
//! `--format` (`template`), list tables and single-object formats (`table`),
//! human-readable sizes and times (`units`), and block YAML (`yaml`).

pub mod quote;
pub mod table;
pub mod template;
pub mod units;
pub mod yaml;

/// JSON encoded the way Docker's Go code writes it.
pub mod json {
    pub use super::template::{to_go_compact, to_go_pretty};
}

pub use table::{render_list, render_one, tabwrite};
pub use template::{Template, TemplateError};
