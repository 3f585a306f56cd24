//! What the listing commands share: one page as a table or as the API's JSON,
//! or every item (following the pages) as a table or one JSON line each.

use std::io::{self, BufWriter, Write};

use futures::{Stream, TryStreamExt};
use orq::types::PromptConfig;
use serde::Serialize;

use super::Context;
use crate::exit::Failure;
use crate::output::{self, Table};

/// How to print the items of one kind.
pub struct Listing<T> {
    /// What the items are, plural, for notes: `deployments`.
    pub what: &'static str,
    /// The table's column names.
    pub header: Vec<&'static str>,
    /// An item's table cells, one per column.
    pub row: fn(&T) -> Vec<String>,
    /// `--json`.
    pub json: bool,
}

impl<T: Serialize> Listing<T> {
    /// Prints one page: `page` itself as JSON, or a table of `items`, with a
    /// note on stderr when more follow.
    pub fn page(
        &self,
        page: &impl Serialize,
        items: &[T],
        has_more: bool,
        context: Context,
    ) -> Result<(), Failure> {
        let mut out = BufWriter::new(io::stdout().lock());
        if self.json {
            output::json(&mut out, page)?;
        } else {
            self.table(&mut out, items.iter(), context)?;
            if has_more {
                context.note(&format!("more {} follow: --all lists them all", self.what));
            }
        }
        out.flush()?;
        Ok(())
    }

    /// Prints every item `items` yields: one JSON line each, printed as the
    /// pages arrive, or one table at the end.
    pub async fn all(
        &self,
        items: impl Stream<Item = Result<T, orq::Error>>,
        context: Context,
    ) -> Result<(), Failure> {
        let mut out = BufWriter::new(io::stdout().lock());
        let mut spinner = Some(context.stderr.spinner(&format!("listing {}", self.what)));
        let mut items = std::pin::pin!(items);
        let mut collected = Vec::new();
        while let Some(item) = items.try_next().await? {
            if self.json {
                // Lines are printed as pages arrive: the wait is over.
                spinner.take();
                output::json_line(&mut out, &item)?;
            } else {
                collected.push(item);
            }
        }
        drop(spinner);
        if !self.json {
            self.table(&mut out, collected.iter(), context)?;
        }
        out.flush()?;
        Ok(())
    }

    fn table<'a>(
        &self,
        out: &mut impl Write,
        items: impl Iterator<Item = &'a T>,
        context: Context,
    ) -> io::Result<()>
    where
        T: 'a,
    {
        let mut table = Table::new(self.header.clone());
        items.for_each(|item| table.row((self.row)(item)));
        if table.is_empty() {
            context.note(&format!("no {}", self.what));
            return Ok(());
        }
        table.write(out)
    }
}

/// `provider/model`, or the model alone when the provider is not given.
pub fn model(config: &PromptConfig) -> String {
    match &config.provider {
        Some(provider) => format!("{}/{}", provider.as_str(), config.model),
        None => config.model.clone(),
    }
}
