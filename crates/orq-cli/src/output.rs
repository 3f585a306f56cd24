//! What goes to the terminal: data on stdout (tables, text, JSON), diagnostics
//! on stderr (errors, the waiting spinner), colour only where it can be seen.

use std::io::{self, IsTerminal, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde::Serialize;
use tokio::task::JoinHandle;

use crate::exit::{self, Failure};

/// What stderr can show: decided once, at start-up.
#[derive(Debug, Clone, Copy)]
pub struct Stderr {
    /// Colour in diagnostics: stderr is a terminal, `NO_COLOR` is unset and `TERM` is not `dumb`.
    pub colour: bool,
    /// A spinner while waiting: the same conditions, and not `--quiet`.
    pub spinner: bool,
}

impl Stderr {
    /// Reads the environment and whether stderr is a terminal.
    pub fn detect(quiet: bool) -> Stderr {
        let no_colour = std::env::var_os("NO_COLOR").is_some_and(|value| !value.is_empty());
        let dumb = std::env::var_os("TERM").is_some_and(|term| term == "dumb");
        let fancy = io::stderr().is_terminal() && !no_colour && !dumb;
        Stderr { colour: fancy, spinner: fancy && !quiet }
    }

    /// Prints a failure to stderr: `orq: error: …`, then a hint where one helps.
    pub fn report(&self, failure: &Failure) {
        let message = match failure {
            Failure::Usage(message) | Failure::Input(message) => message.clone(),
            Failure::Orq(error, base_url) => describe(error, base_url.as_deref()),
            Failure::Output(error) => format!("could not write the output: {error}"),
            Failure::Interrupted => "interrupted".to_string(),
        };
        let (red, yellow, reset) =
            if self.colour { ("\x1b[1;31m", "\x1b[33m", "\x1b[0m") } else { ("", "", "") };
        let mut stderr = io::stderr().lock();
        let _ = writeln!(stderr, "orq: {red}error:{reset} {message}");
        if let Some(hint) = exit::hint(failure) {
            let _ = writeln!(stderr, "orq: {yellow}hint:{reset} {hint}");
        }
    }

    /// Starts a spinner on stderr, if stderr shows one. It stops, and its line
    /// is cleared, when the returned guard is dropped.
    pub fn spinner(&self, what: &str) -> Spinner {
        if !self.spinner {
            return Spinner { task: None, drawn: Arc::default() };
        }
        let label = what.to_string();
        let drawn = Arc::new(AtomicBool::new(false));
        let shown = Arc::clone(&drawn);
        let task = tokio::spawn(async move {
            // Quick answers never show it: no flicker.
            tokio::time::sleep(Duration::from_millis(150)).await;
            const FRAMES: [&str; 10] = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];
            for frame in FRAMES.iter().cycle() {
                shown.store(true, Ordering::Relaxed);
                let _ = write!(io::stderr(), "\r{frame} {label}");
                tokio::time::sleep(Duration::from_millis(80)).await;
            }
        });
        Spinner { task: Some(task), drawn }
    }
}

/// `orq::Error`'s own words (cause and host, never the key); for an error
/// answer also where it came from and its request id.
fn describe(error: &orq::Error, base_url: Option<&str>) -> String {
    let orq::Error::Api { request_id, .. } = error else { return error.to_string() };
    let mut message = error.to_string();
    if let Some(base_url) = base_url {
        message.push_str(&format!(" (from {base_url}"));
        if let Some(id) = request_id {
            message.push_str(&format!(", request id {id}"));
        }
        message.push(')');
    } else if let Some(id) = request_id {
        message.push_str(&format!(" (request id {id})"));
    }
    message
}

/// A running spinner; dropping it stops it and clears its line.
#[must_use = "the spinner stops when dropped"]
pub struct Spinner {
    task: Option<JoinHandle<()>>,
    /// Whether a frame was drawn, so there is a line to clear.
    drawn: Arc<AtomicBool>,
}

impl Spinner {
    /// Stops the spinner (the same as dropping it).
    pub fn stop(self) {}
}

impl Drop for Spinner {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            // The runtime has one thread: an aborted task never runs again, so
            // no frame can follow the clearing below.
            task.abort();
            if self.drawn.load(Ordering::Relaxed) {
                let _ = write!(io::stderr(), "\r\x1b[2K");
            }
        }
    }
}

/// Writes one value as pretty JSON and a newline.
pub fn json(out: &mut impl Write, value: &impl Serialize) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, value)?;
    writeln!(out)
}

/// Writes one value as JSON on one line (NDJSON).
pub fn json_line(out: &mut impl Write, value: &impl Serialize) -> io::Result<()> {
    serde_json::to_writer(&mut *out, value)?;
    writeln!(out)
}

/// A plain-text table: a header row, then rows, columns padded to the widest
/// cell and separated by two spaces; the last column is not padded.
#[derive(Debug)]
pub struct Table {
    header: Vec<&'static str>,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// A table with these column names.
    pub fn new(header: Vec<&'static str>) -> Table {
        Table { header, rows: Vec::new() }
    }

    /// Adds a row (one cell per column). Line breaks in a cell become spaces.
    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells.into_iter().map(|cell| cell.replace(['\n', '\r', '\t'], " ")).collect());
    }

    /// Whether no row was added.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Writes the table.
    pub fn write(&self, out: &mut impl Write) -> io::Result<()> {
        let columns = self.header.len();
        let mut widths: Vec<usize> = self.header.iter().map(|h| h.chars().count()).collect();
        for row in &self.rows {
            for (width, cell) in widths.iter_mut().zip(row) {
                *width = (*width).max(cell.chars().count());
            }
        }
        let header = self.header.iter().map(|h| h.to_string()).collect::<Vec<_>>();
        for row in std::iter::once(&header).chain(&self.rows) {
            let mut line = String::new();
            for (index, cell) in row.iter().enumerate() {
                line.push_str(cell);
                if index + 1 < columns {
                    let pad = widths[index] - cell.chars().count() + 2;
                    line.extend(std::iter::repeat_n(' ', pad));
                }
            }
            writeln!(out, "{}", line.trim_end())?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_align_columns() {
        let mut table = Table::new(vec!["KEY", "MODEL", "DESCRIPTION"]);
        table.row(vec!["support-bot".into(), "openai/gpt-4o".into(), "Helps\ncustomers".into()]);
        table.row(vec!["x".into(), "".into(), "".into()]);
        let mut out = Vec::new();
        table.write(&mut out).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "KEY          MODEL          DESCRIPTION\n\
             support-bot  openai/gpt-4o  Helps customers\n\
             x\n"
        );
    }
}
