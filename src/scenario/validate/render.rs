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

/// How many problems are drawn with their source lines; the rest are one line each (each
/// drawing reads the file from its start, so thousands of them took minutes).
const DRAWN: usize = 100;

/// Render `problems` for a terminal (`color`) or a log.
pub fn render(file: &Path, text: &str, problems: &[Problem], color: bool) -> String {
    let theme = if color {
        miette::GraphicalTheme::unicode()
    } else {
        miette::GraphicalTheme::unicode_nocolor()
    };
    let handler = miette::GraphicalReportHandler::new_themed(theme).with_context_lines(1);
    let mut out = String::new();
    let one_line = |p: &Problem| {
        format!(
            "{}:{}:{}: {}\n",
            file.display(),
            p.line,
            p.column,
            p.message
        )
    };
    for p in problems.iter().take(DRAWN) {
        let shown = Shown {
            message: p.message.clone(),
            code: miette::NamedSource::new(file.display().to_string(), text.to_string()),
            span: (p.offset, p.len).into(),
            help: p.help.clone(),
        };
        if handler.render_report(&mut out, &shown).is_err() {
            out.push_str(&one_line(p));
        }
    }
    if let Some(rest) = problems.get(DRAWN..).filter(|r| !r.is_empty()) {
        out.push_str(&format!("… and {} more:\n", rest.len()));
        for p in rest {
            out.push_str(&one_line(p));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn past_a_hundred_problems_each_is_one_line() {
        let text = "steps:\n".to_string() + &"  - advance: x\n".repeat(150);
        let problems: Vec<Problem> = (0..150)
            .map(|i| Problem {
                line: i + 2,
                column: 16,
                offset: 7 + 15 * i + 13,
                len: 1,
                message: format!("bad duration {i}"),
                help: None,
            })
            .collect();
        let out = render(Path::new("f.yaml"), &text, &problems, false);
        assert!(out.contains("bad duration 0"));
        assert!(
            out.contains("… and 50 more:\nf.yaml:102:16: bad duration 100\n"),
            "{out}"
        );
        assert!(out.ends_with("f.yaml:151:16: bad duration 149\n"));
    }
}
