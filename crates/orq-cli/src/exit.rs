//! Exit codes, and the failures a command ends with, each mapped to one.

use std::io;

/// Success.
pub const OK: u8 = 0;
/// Anything else: reading `--body`, writing the output.
pub const OTHER: u8 = 1;
/// Bad usage: unknown flag, bad value, no API key, a request rejected before sending.
pub const USAGE: u8 = 2;
/// The service refused the request (4xx): bad key, unknown deployment, invalid body.
pub const API_CLIENT: u8 = 3;
/// The service failed (5xx, or another non-success status).
pub const API_SERVER: u8 = 4;
/// No answer: could not connect, the connection broke, or a timeout passed.
pub const CONNECTION: u8 = 5;
/// An answer that cannot be read: undecodable, too large, or a stream cut short.
pub const RESPONSE: u8 = 6;
/// Interrupted with Ctrl-C.
pub const INTERRUPTED: u8 = 130;

/// The exit codes as `--help` lists them.
pub const HELP: &str = "\
Exit codes:
  0    success
  1    other failure (reading --body, writing the output)
  2    usage: bad flag or value, no API key, request rejected before sending
  3    orq.ai refused the request (4xx: bad key, unknown deployment, invalid body)
  4    orq.ai failed (5xx)
  5    no answer: could not connect, connection broke, timeout
  6    unreadable answer: undecodable, too large, stream cut short
  130  interrupted (Ctrl-C)";

/// Why a command did not succeed.
#[derive(Debug)]
pub enum Failure {
    /// The arguments cannot work; the message says why.
    Usage(String),
    /// A call to orq.ai failed; the base URL it went to, once known.
    Orq(Box<orq::Error>, Option<String>),
    /// Reading an input failed; the message names it.
    Input(String),
    /// Writing to stdout failed.
    Output(io::Error),
    /// Ctrl-C.
    Interrupted,
}

impl From<orq::Error> for Failure {
    fn from(error: orq::Error) -> Self {
        Failure::Orq(Box::new(error), None)
    }
}

impl From<io::Error> for Failure {
    fn from(error: io::Error) -> Self {
        Failure::Output(error)
    }
}

impl Failure {
    /// The process's exit code for this failure.
    pub fn code(&self) -> u8 {
        match self {
            Failure::Usage(_) => USAGE,
            Failure::Orq(error, _) => orq_code(error),
            Failure::Input(_) | Failure::Output(_) => OTHER,
            Failure::Interrupted => INTERRUPTED,
        }
    }

    /// The same failure, naming the base URL a failed call went to.
    pub fn sent_to(self, base_url: &str) -> Self {
        match self {
            Failure::Orq(error, None) => Failure::Orq(error, Some(base_url.to_string())),
            other => other,
        }
    }

    /// Whether the reader of stdout went away (`orq … | head`): not worth a message.
    pub fn is_closed_output(&self) -> bool {
        matches!(self, Failure::Output(error) if error.kind() == io::ErrorKind::BrokenPipe)
    }
}

fn orq_code(error: &orq::Error) -> u8 {
    use orq::Error;
    match error {
        Error::Api { status, .. } if status.is_client_error() => API_CLIENT,
        Error::Api { .. } => API_SERVER,
        Error::Connect { .. }
        | Error::ConnectTimeout { .. }
        | Error::Connection { .. }
        | Error::Timeout { .. } => CONNECTION,
        Error::Decode { .. } | Error::BodyTooLarge { .. } | Error::Stream(_) => RESPONSE,
        Error::InvalidRequest(_) | Error::Config(_) => USAGE,
        _ => OTHER,
    }
}

/// A hint printed after an error, where one helps.
pub fn hint(failure: &Failure) -> Option<&'static str> {
    match failure {
        Failure::Orq(error, _) if error.is_unauthorized() => {
            Some("check the API key (--api-key or ORQ_API_KEY)")
        }
        Failure::Orq(error, _) if error.is_not_found() => {
            Some("`orq deployments list` shows the deployments' keys")
        }
        Failure::Orq(error, _)
            if matches!(**error, orq::Error::Connect { .. } | orq::Error::ConnectTimeout { .. }) =>
        {
            Some("check the network and the base URL (--base-url or ORQ_BASE_URL)")
        }
        _ => None,
    }
}
