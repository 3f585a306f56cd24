//! `orq deployments versions`: a deployment's saved versions, as a table, the
//! page as JSON, or every version as NDJSON.

use orq::Client;
use orq::types::DeploymentVersion;

use super::Context;
use super::listing::{self, Listing};
use crate::args::VersionsArgs;
use crate::exit::Failure;

/// Lists one page of versions, or with `--all` every version.
pub async fn run(client: &Client, args: &VersionsArgs, context: Context) -> Result<(), Failure> {
    let mut request = client.deployments().list_versions(args.key.as_str());
    if let Some(limit) = args.limit {
        request = request.limit(limit);
    }
    if let Some(variant) = &args.variant {
        request = request.variant_id(variant.as_str());
    }
    let listing = Listing {
        what: "versions",
        header: vec!["VERSION", "STATUS", "SAVED", "MODEL", "VARIANT", "DESCRIPTION"],
        row,
        json: args.json,
    };
    if args.all {
        // Pages of 50 (the most the service gives); an explicit --limit is the page size.
        let request = if args.limit.is_none() {
            request.limit(orq::deployments::MAX_VERSIONS_PAGE_SIZE)
        } else {
            request
        };
        listing.all(request.into_stream(), context).await
    } else {
        let spinner = context.stderr.spinner("listing versions");
        let page = request.send().await?;
        spinner.stop();
        listing.page(&page, &page.data, page.has_more, context)
    }
}

fn row(version: &DeploymentVersion) -> Vec<String> {
    let config = &version.prompt_config;
    vec![
        version.version.clone(),
        version.status.as_ref().map(|status| status.as_str().to_string()).unwrap_or_default(),
        version.timestamp.clone(),
        listing::model(config),
        version.variant_id.clone(),
        version.description.clone(),
    ]
}
