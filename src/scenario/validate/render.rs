//! Problems rendered by miette: the message, file:line:col, the line with the place
//! underlined, and the hint.

use super::Problem;
use std::path::Path;

/// A problem as miette shows it: the message, the file:line:col, the line with the
/// place underlined, and the hint.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
#[error("{message}")]
struct Shown {
    message: String,
    #[source_code]
    code: miette::NamedSource<String>,
    #[label("here")]
    span: miette::SourceSpan,
    #[help]
    help: Option<String>,
}

/// Render `problems` for a terminal (`color`) or a log.
pub fn render(file: &Path, text: &str, problems: &[Problem], color: bool) -> String {
    let theme = if color {
        miette::GraphicalTheme::unicode()
    } else {
        miette::GraphicalTheme::unicode_nocolor()
    };
    let handler = miette::GraphicalReportHandler::new_themed(theme).with_context_lines(1);
    let mut out = String::new();
    for p in problems {
        let shown = Shown {
            message: p.message.clone(),
            code: miette::NamedSource::new(file.display().to_string(), text.to_string()),
            span: (p.offset, p.len).into(),
            help: p.help.clone(),
        };
        if handler.render_report(&mut out, &shown).is_err() {
            out.push_str(&format!(
                "{}:{}:{}: {}\n",
                file.display(),
                p.line,
                p.column,
                p.message
            ));
        }
    }
    out
}
