//! `orq deployments list`: a table, the page as JSON, or every deployment as NDJSON.

use orq::Client;
use orq::types::Deployment;

use super::Context;
use super::listing::{self, Listing};
use crate::args::ListArgs;
use crate::exit::Failure;

/// Lists one page, or with `--all` every deployment.
pub async fn run(client: &Client, args: &ListArgs, context: Context) -> Result<(), Failure> {
    let mut request = client.deployments().list();
    if let Some(limit) = args.limit {
        request = request.limit(limit);
    }
    let listing = Listing {
        what: "deployments",
        header: vec!["KEY", "VERSION", "MODEL", "UPDATED", "DESCRIPTION"],
        row,
        json: args.json,
    };
    if args.all {
        // `list_all` pages by 200; an explicit --limit is the page size.
        let request =
            if args.limit.is_none() { request.limit(orq::deployments::MAX_PAGE_SIZE) } else { request };
        listing.all(request.into_stream(), context).await
    } else {
        let spinner = context.stderr.spinner("listing deployments");
        let page = request.send().await?;
        spinner.stop();
        listing.page(&page, &page.data, page.has_more, context)
    }
}

fn row(deployment: &Deployment) -> Vec<String> {
    vec![
        deployment.key.clone(),
        deployment.version.clone(),
        listing::model(&deployment.prompt_config),
        deployment.updated.clone(),
        deployment.description.clone(),
    ]
}
