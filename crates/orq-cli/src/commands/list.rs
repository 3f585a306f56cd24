//! `orq deployments list`: a table, the page as JSON, or every deployment as NDJSON.

use std::io::{self, BufWriter, Write};

use futures::TryStreamExt;
use orq::Client;
use orq::types::Deployment;

use super::Context;
use crate::args::ListArgs;
use crate::exit::Failure;
use crate::output::{self, Table};

/// Lists one page, or with `--all` every deployment.
pub async fn run(client: &Client, args: &ListArgs, context: Context) -> Result<(), Failure> {
    let mut request = client.deployments().list();
    if let Some(limit) = args.limit {
        request = request.limit(limit);
    }
    let mut out = BufWriter::new(io::stdout().lock());
    if args.all {
        // `list_all` pages by 200; an explicit --limit is the page size.
        let request =
            if args.limit.is_none() { request.limit(orq::deployments::MAX_PAGE_SIZE) } else { request };
        let mut spinner = Some(context.stderr.spinner("listing deployments"));
        let mut deployments = std::pin::pin!(request.into_stream());
        let mut table = table();
        while let Some(deployment) = deployments.try_next().await? {
            if args.json {
                // Lines are printed as pages arrive: the wait is over.
                spinner.take();
                output::json_line(&mut out, &deployment)?;
            } else {
                table.row(row(&deployment));
            }
        }
        drop(spinner);
        if !args.json {
            write_table(&mut out, &table, context)?;
        }
    } else {
        let spinner = context.stderr.spinner("listing deployments");
        let page = request.send().await?;
        spinner.stop();
        if args.json {
            output::json(&mut out, &page)?;
        } else {
            let mut table = table();
            page.data.iter().for_each(|deployment| table.row(row(deployment)));
            write_table(&mut out, &table, context)?;
            if page.has_more {
                context.note("more deployments follow: --all lists them all");
            }
        }
    }
    out.flush()?;
    Ok(())
}

fn table() -> Table {
    Table::new(vec!["KEY", "VERSION", "MODEL", "UPDATED", "DESCRIPTION"])
}

fn row(deployment: &Deployment) -> Vec<String> {
    let config = &deployment.prompt_config;
    let model = match &config.provider {
        Some(provider) => format!("{}/{}", provider.as_str(), config.model),
        None => config.model.clone(),
    };
    vec![
        deployment.key.clone(),
        deployment.version.clone(),
        model,
        deployment.updated.clone(),
        deployment.description.clone(),
    ]
}

fn write_table(out: &mut impl Write, table: &Table, context: Context) -> io::Result<()> {
    if table.is_empty() {
        context.note("no deployments");
        return Ok(());
    }
    table.write(out)
}
