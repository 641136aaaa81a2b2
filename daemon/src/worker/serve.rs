//! The worker side: `m2mhald --plugin-fd 3 --driver-worker <plugin file>` serves one plugin on
//! stdin/stdout until stdin closes.

use std::fs::File;
use std::io::Write;
use std::os::fd::RawFd;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use super::protocol::{self, Reply, Request};
use crate::plugin_file::descriptor_path;
use crate::plugin_host::{Library, LibraryInstance, PluginError};

/// Loads the plugin named `plugin` and answers requests until stdin closes. The code loaded is
/// that of the open descriptor `fd` when given (how the daemon runs workers), else the file at
/// `plugin`. A plugin that cannot be loaded is not an early exit: every request is answered
/// [`Reply::Refused`] with the reason, so the daemon logs it as it would have in-process.
pub fn serve(plugin: &Path, fd: Option<RawFd>) -> ExitCode {
    let mut output = match protocol_output() {
        Ok(output) => output,
        Err(e) => {
            tracing::error!("cannot set up the worker's output: {e}");
            return ExitCode::FAILURE;
        }
    };
    let code = fd.map_or_else(|| plugin.to_owned(), descriptor_path);
    let library = Library::load(&code)
        .map(Arc::new)
        .map_err(|e| e.to_string());
    let name = library
        .as_ref()
        .map(|library| library.description.name.clone())
        .unwrap_or_default();
    let _span = tracing::info_span!("worker", driver = name).entered();
    // The daemon names the file in its own line about the plugin.
    tracing::debug!("driver worker started");
    let mut session = Session {
        library,
        instance: None,
    };
    let mut input = std::io::stdin().lock();
    loop {
        let payload = match protocol::read_frame(&mut input) {
            Ok(Some(payload)) => payload,
            Ok(None) => return ExitCode::SUCCESS,
            Err(e) => {
                tracing::error!("cannot read a request from the daemon: {e}");
                return ExitCode::FAILURE;
            }
        };
        let reply = match protocol::decode::<Request>(&payload) {
            Ok(request) => session.answer(request),
            Err(e) => Reply::Refused {
                message: format!("malformed worker request: {e}"),
            },
        };
        if let Err(e) = protocol::write_frame(&mut output, &reply) {
            tracing::error!("cannot answer the daemon: {e}");
            return ExitCode::FAILURE;
        }
    }
}

/// The protocol's output: a private copy of stdout. Stdout itself then goes to stderr, so that
/// whatever the plugin prints lands in the log instead of corrupting the frames.
fn protocol_output() -> nix::Result<impl Write> {
    let output = nix::unistd::dup(std::io::stdout())?;
    nix::unistd::dup2_stdout(std::io::stderr())?;
    Ok(File::from(output))
}

/// The plugin (or why it could not be loaded) and its one instance once opened.
struct Session {
    library: Result<Arc<Library>, String>,
    instance: Option<LibraryInstance>,
}

impl Session {
    fn answer(&mut self, request: Request) -> Reply {
        let library = match &self.library {
            Ok(library) => library,
            Err(why) => return refused(why),
        };
        match request {
            Request::Describe => reply(library.describe()),
            Request::Open(_) if self.instance.is_some() => refused("the driver is already open"),
            Request::Open(config) => match library.open(&config) {
                Ok(instance) => {
                    self.instance = Some(instance);
                    Reply::Ok(Vec::new())
                }
                Err(e) => reply(Err(e)),
            },
            Request::Handle(input) => match &mut self.instance {
                Some(instance) => reply(instance.handle(&input)),
                None => refused("handle before open"),
            },
        }
    }
}

fn refused(why: &str) -> Reply {
    Reply::Refused {
        message: why.to_owned(),
    }
}

/// The reply carrying an entry point's outcome.
fn reply(outcome: Result<Vec<u8>, PluginError>) -> Reply {
    match outcome {
        Ok(bytes) => Reply::Ok(bytes),
        Err(PluginError::Failed { message, .. }) => Reply::Failed { message },
        Err(PluginError::Panicked { message, .. }) => Reply::Panicked { message },
        Err(other) => refused(&other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plugin_that_did_not_load_is_refused_with_the_daemons_words() {
        let mut session = Session {
            library: Err("no m2mhal_plugin_entry symbol: undefined symbol".into()),
            instance: None,
        };
        for request in [
            Request::Describe,
            Request::Open(Vec::new()),
            Request::Handle(Vec::new()),
        ] {
            assert_eq!(
                session.answer(request),
                refused("no m2mhal_plugin_entry symbol: undefined symbol")
            );
        }
    }

    #[test]
    fn entry_point_outcomes_become_replies() {
        assert_eq!(reply(Ok(vec![0x80])), Reply::Ok(vec![0x80]));
        let failed = PluginError::Failed {
            call: "open",
            message: "bad port".into(),
        };
        assert_eq!(
            reply(Err(failed)),
            Reply::Failed {
                message: "bad port".into()
            }
        );
        let panicked = PluginError::Panicked {
            call: "handle",
            message: "boom".into(),
        };
        assert_eq!(
            reply(Err(panicked)),
            Reply::Panicked {
                message: "boom".into()
            }
        );
    }
}
