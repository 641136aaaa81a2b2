//! Loading driver plugins through the v1 C ABI, and running their instances.
//!
//! Every file named `libm2mhal_driver_*.so` in a plugin directory is loaded, its entry table
//! checked (ABI version, struct size, names, a `describe` that answers), and refused with one clear
//! log line if anything is wrong; the daemon goes on without it. No other file is ever opened.
//!
//! Loading runs the plugin's code (initialisers, entry function, `describe`), and a broken file
//! can kill the process that loads it (a truncated library faults with SIGBUS, an entry function
//! may abort). So every plugin is first loaded by a short-lived worker process, all of them in
//! parallel, and only a plugin whose worker answered is mapped by the daemon, from the same open
//! file ([`PluginFile`]); one whose worker died is refused with the signal that killed it.
//!
//! A plugin is either loaded into the daemon ([`Library`]) or, for the drivers named in
//! `isolated_drivers`, never mapped by the daemon at all: a worker process loads it with the same
//! checks, and every instance gets a worker of its own ([`crate::worker`]). [`DriverInstance`]
//! hides which: both speak the same CBOR, decoded here.
//!
//! An in-process plugin is mapped when its first device is opened, not at start: which driver
//! claims a device is decided from the description the checking worker returned, so a driver no
//! device needs costs the daemon no memory (each plugin carries its own copy of the Rust standard
//! library: 0.5-0.9 MiB resident, docs/benchmarks.md run 7). It is never unmapped (no `dlclose`).

use std::ffi::{CStr, c_void};
use std::path::{Path, PathBuf};
use std::ptr::NonNull;
use std::sync::{Arc, Mutex, PoisonError};

use m2mhal_plugin_api::abi::{self, Buffer, PluginV1};
use m2mhal_plugin_api::codec::{self, DecodedEffects};
use m2mhal_plugin_api::{ABI_VERSION, DriverDescription, Input, OpenConfig, PanicStrategy};

use crate::plugin_file::{PluginFile, PluginFileError};
use crate::worker::{self, Worker, protocol::Request};

/// Prefix and suffix of the only file names the host opens in a plugin directory.
const FILE_PREFIX: &str = "libm2mhal_driver_";
const FILE_SUFFIX: &str = ".so";

/// The drivers shipped with m2mhal, by file name: they run in the daemon unless
/// `isolated_drivers` names them. Every other driver is a third party's and runs in worker
/// processes unless `in_process_drivers` names it.
pub const SHIPPED_DRIVERS: [&str; 4] = ["cellular", "iridium", "ble", "gnss"];

/// Which plugins run in worker processes (by the `<name>` of their file name): the config's
/// `isolated_drivers` and `in_process_drivers` over the default of [`SHIPPED_DRIVERS`].
#[derive(Debug, Clone, Copy)]
pub struct Placement<'a> {
    /// `isolated_drivers`.
    pub isolated: &'a [String],
    /// `in_process_drivers`.
    pub in_process: &'a [String],
}

impl Placement<'_> {
    /// Whether the driver of file name `<name>` runs in worker processes.
    pub fn isolates(&self, name: &str) -> bool {
        let named = |list: &[String]| list.iter().any(|n| n == name);
        named(self.isolated) || !(SHIPPED_DRIVERS.contains(&name) || named(self.in_process))
    }
}

/// Why a plugin was refused or a call into it failed.
#[derive(Debug, thiserror::Error)]
pub enum PluginError {
    /// The file could not be opened, or changed while it was checked.
    #[error(transparent)]
    File(#[from] PluginFileError),
    /// Loading the plugin killed the worker process that checked it.
    #[error("loading it killed the process that checked it: {status}")]
    CheckCrashed {
        /// How the worker ended (`signal 7 (SIGBUS)`).
        status: String,
    },
    /// The file is not a shared library the system can load.
    #[error("not a loadable shared library: {0}")]
    Load(String),
    /// The library does not export the entry symbol.
    #[error("no m2mhal_plugin_entry symbol: {0}")]
    NoEntry(String),
    /// The entry table is unusable.
    #[error("{0}")]
    BadTable(String),
    /// The plugin reported an error.
    #[error("{call} failed: {message}")]
    Failed {
        /// The entry point called.
        call: &'static str,
        /// The plugin's message.
        message: String,
    },
    /// The plugin panicked; its instance is unusable.
    #[error("{call} panicked: {message}")]
    Panicked {
        /// The entry point called.
        call: &'static str,
        /// The panic message.
        message: String,
    },
    /// The plugin returned bytes that are not the expected CBOR.
    #[error("{call} returned malformed data: {source}")]
    Malformed {
        /// The entry point called.
        call: &'static str,
        /// The decoding error.
        source: codec::CodecError,
    },
    /// An isolated plugin's worker refused it (the message is the worker's, as the daemon would
    /// have said it in-process), or an in-process one could not be mapped when its first device
    /// was opened (the message is why, as it was logged then).
    #[error("{0}")]
    Refused(String),
    /// An isolated plugin's worker did not answer in time and was killed.
    #[error("{call}: the driver did not answer within {} s (killed)", worker::ANSWER_DEADLINE.as_secs())]
    Unresponsive {
        /// The entry point called.
        call: &'static str,
    },
    /// An isolated plugin's worker ended (crashed, or exited) instead of answering.
    #[error("{call}: the driver's worker died: {status}")]
    WorkerDied {
        /// The entry point called.
        call: &'static str,
        /// How it ended (`signal 6 (SIGABRT)`, `exit status 1`).
        status: String,
    },
    /// An isolated plugin's worker could not be started or broke the worker protocol.
    #[error("{call}: driver worker: {message}")]
    Worker {
        /// The entry point called.
        call: &'static str,
        /// What went wrong.
        message: String,
    },
}

/// A plugin library loaded into this process, its entry table validated.
#[derive(Debug)]
pub struct Library {
    /// Its self-description.
    pub description: DriverDescription,
    table: &'static PluginV1,
    // Keeps the code mapped while `table` and instances are in use; dropped after them.
    _library: libloading::Library,
    // The open file the code was loaded from, if loaded that way; closed after the unmapping.
    _file: Option<PluginFile>,
}

impl Library {
    /// Loads and validates the plugin library at `path`.
    pub fn load(path: &Path) -> Result<Library, PluginError> {
        // SAFETY: loading a library runs its initialisers; plugin directories are trusted
        // configuration (root-owned in production), and only `libm2mhal_driver_*.so` files get here.
        let library = unsafe { libloading::Library::new(path) }
            .map_err(|e| PluginError::Load(error_chain(&e)))?;
        // SAFETY: the symbol's type is fixed by ABI v1.
        let entry = unsafe { library.get::<abi::EntryFn>(abi::ENTRY_SYMBOL) }
            .map_err(|e| PluginError::NoEntry(error_chain(&e)))?;
        // SAFETY: calling the plugin's entry function, which takes no arguments.
        let table_ptr = unsafe { entry() };
        // SAFETY: the table is static data of the library, which `Library` keeps loaded. We read
        // the two leading u32 fields before trusting the size of the rest.
        let table = unsafe { table_ptr.as_ref() }
            .ok_or_else(|| PluginError::BadTable("entry returned a null table".into()))?;
        if table.abi_version != ABI_VERSION {
            return Err(PluginError::BadTable(format!(
                "plugin speaks ABI v{}, this daemon speaks v{ABI_VERSION}",
                table.abi_version
            )));
        }
        let needed = std::mem::size_of::<PluginV1>();
        if (table.struct_size as usize) < needed {
            return Err(PluginError::BadTable(format!(
                "entry table is {} bytes, ABI v{ABI_VERSION} needs at least {needed}",
                table.struct_size
            )));
        }
        let name = static_str(table.name, "name")?;
        let version = static_str(table.version, "version")?;
        // SAFETY: `table` stays valid for as long as `library` is loaded; we store both together
        // and never hand out the table beyond the library's lifetime.
        let table: &'static PluginV1 = unsafe { &*(table as *const PluginV1) };
        let bytes = describe_bytes(table)?;
        let description: DriverDescription =
            codec::decode(&bytes).map_err(|source| PluginError::Malformed {
                call: "describe",
                source,
            })?;
        if description.name != name || description.version != version {
            return Err(PluginError::BadTable(format!(
                "entry table says {name} {version} but describe says {} {}",
                description.name, description.version
            )));
        }
        Ok(Library {
            description,
            table,
            _library: library,
            _file: None,
        })
    }

    /// Loads and validates the plugin from the open `file`, if it did not change since opened.
    pub fn load_file(file: PluginFile) -> Result<Library, PluginError> {
        file.ensure_unchanged()?;
        match Library::load(&file.load_path()) {
            Ok(library) => Ok(Library {
                _file: Some(file),
                ..library
            }),
            Err(e) => {
                file.keep_open_for_good();
                Err(e)
            }
        }
    }

    /// Calls `describe` again and returns the bytes it answered.
    pub fn describe(&self) -> Result<Vec<u8>, PluginError> {
        describe_bytes(self.table)
    }

    /// Creates a driver instance from `config`, the CBOR of an `OpenConfig`.
    pub fn open(self: &Arc<Self>, config: &[u8]) -> Result<LibraryInstance, PluginError> {
        let mut instance: *mut c_void = std::ptr::null_mut();
        call_buffer("open", self.table, |out| {
            // SAFETY: `config` is readable for its length, `instance` and `out` are writable.
            unsafe { (self.table.open)(config.as_ptr(), config.len(), &mut instance, out) }
        })?;
        let instance = NonNull::new(instance).ok_or_else(|| PluginError::Failed {
            call: "open",
            message: "returned no instance".into(),
        })?;
        Ok(LibraryInstance {
            library: Arc::clone(self),
            instance,
        })
    }
}

/// One instance of a [`Library`]'s driver; closed on drop.
#[derive(Debug)]
pub struct LibraryInstance {
    library: Arc<Library>,
    instance: NonNull<c_void>,
}

// SAFETY: ABI v1 requires instances to be usable from any thread as long as calls are serialised,
// which `&mut self` on `handle` guarantees.
unsafe impl Send for LibraryInstance {}
// SAFETY: a shared reference gives no access to the instance pointer; every call needs `&mut`.
unsafe impl Sync for LibraryInstance {}

impl LibraryInstance {
    /// Hands `input` (the CBOR of an `Input`) to the driver; returns the bytes it answered.
    pub fn handle(&mut self, input: &[u8]) -> Result<Vec<u8>, PluginError> {
        let table = self.library.table;
        let instance = self.instance.as_ptr();
        call_buffer("handle", table, |out| {
            // SAFETY: `instance` came from this library's `open` and is not closed; `input` is
            // readable; `out` is writable.
            unsafe { (table.handle)(instance, input.as_ptr(), input.len(), out) }
        })
    }
}

impl Drop for LibraryInstance {
    fn drop(&mut self) {
        // SAFETY: the instance came from `open` of this library and is closed exactly once.
        unsafe { (self.library.table.close)(self.instance.as_ptr()) }
    }
}

/// Where a plugin's code runs.
#[derive(Debug)]
enum Code {
    /// Loaded into the daemon, when its first instance is opened.
    InProcess(Mutex<InProcess>),
    /// Loaded from this file by one worker process per instance (`isolated_drivers`); the daemon
    /// never maps it.
    Isolated(PluginFile),
}

/// The code of a plugin that runs in the daemon: checked by a worker at start, mapped by the
/// first [`Plugin::open`].
#[derive(Debug)]
enum InProcess {
    /// Checked, not mapped yet: the open file the worker checked, which is the one mapped.
    Checked(PluginFile),
    /// Mapped and validated again.
    Loaded(Arc<Library>),
    /// Mapping it failed (the file changed since the check, say); why, for every later open.
    Refused(String),
}

impl InProcess {
    /// The mapped library, mapping it now if no instance was opened before.
    fn library(&mut self, name: &str) -> Result<Arc<Library>, PluginError> {
        // What stays if mapping panics (a plugin initialiser unwinding into the daemon).
        let interrupted = InProcess::Refused("mapping it into the daemon panicked".into());
        let state = std::mem::replace(self, interrupted);
        let (state, library) = match state {
            InProcess::Checked(file) => match Library::load_file(file) {
                Ok(library) => {
                    tracing::info!("mapped driver {name} into the daemon for its first device");
                    let library = Arc::new(library);
                    (InProcess::Loaded(Arc::clone(&library)), Ok(library))
                }
                Err(e) => {
                    tracing::error!("driver {name} cannot be mapped into the daemon: {e}");
                    (InProcess::Refused(e.to_string()), Err(e))
                }
            },
            InProcess::Loaded(library) => (InProcess::Loaded(Arc::clone(&library)), Ok(library)),
            InProcess::Refused(why) => (
                InProcess::Refused(why.clone()),
                Err(PluginError::Refused(why)),
            ),
        };
        *self = state;
        library
    }
}

/// A loaded, validated plugin.
#[derive(Debug)]
pub struct Plugin {
    /// Where it was loaded from.
    pub path: PathBuf,
    /// Its self-description.
    pub description: DriverDescription,
    code: Code,
}

impl Plugin {
    /// Opens the plugin at `path` and has a worker process load, validate and describe it; then
    /// keeps the open file to load it into the daemon when its first instance is opened, or
    /// (`isolate`, or a plugin built with `panic = "abort"`) leaves it to a worker of its own per
    /// instance.
    pub async fn load(path: &Path, isolate: bool) -> Result<Plugin, PluginError> {
        let file = PluginFile::open(path)?;
        let description = check(&file).await?;
        let aborts = description.panic_strategy == Some(PanicStrategy::Abort);
        if aborts && !isolate {
            tracing::warn!(
                plugin = %path.display(),
                "driver {} is built with panic = \"abort\" (a panic would abort the daemon): \
                 running it in worker processes instead",
                description.name
            );
        }
        let code = if isolate || aborts {
            Code::Isolated(file)
        } else {
            Code::InProcess(Mutex::new(InProcess::Checked(file)))
        };
        Ok(Plugin {
            path: path.to_owned(),
            description,
            code,
        })
    }

    /// The driver name.
    pub fn name(&self) -> &str {
        &self.description.name
    }

    /// Whether its instances run in worker processes.
    pub fn is_isolated(&self) -> bool {
        matches!(self.code, Code::Isolated(_))
    }

    /// Creates a driver instance for one device.
    pub async fn open(
        self: &Arc<Self>,
        config: &OpenConfig,
    ) -> Result<DriverInstance, PluginError> {
        let input = codec::encode(config).map_err(|source| PluginError::Malformed {
            call: "open",
            source,
        })?;
        let runner = match &self.code {
            Code::InProcess(code) => {
                // A poisoned lock means a panic while mapping, which left `Refused` behind.
                let library = code
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .library(self.name())?;
                Runner::InProcess(library.open(&input)?)
            }
            Code::Isolated(file) => {
                let mut worker = Worker::spawn(file)?;
                worker.call("open", &Request::Open(input)).await?;
                tracing::info!(
                    "driver {} runs this device in worker process {}",
                    self.name(),
                    worker.pid()
                );
                Runner::Worker(Box::new(worker))
            }
        };
        Ok(DriverInstance {
            plugin: Arc::clone(self),
            runner,
        })
    }
}

/// What runs a driver instance's code.
#[derive(Debug)]
enum Runner {
    /// The library, in the daemon.
    InProcess(LibraryInstance),
    /// A worker process (boxed: its pipes and process handle are large).
    Worker(Box<Worker>),
}

/// One open driver instance; closed on drop (an isolated one's worker is killed).
#[derive(Debug)]
pub struct DriverInstance {
    plugin: Arc<Plugin>,
    runner: Runner,
}

impl DriverInstance {
    /// Hands one input to the driver and returns its effects.
    pub async fn handle(&mut self, input: &Input) -> Result<DecodedEffects, PluginError> {
        let bytes = codec::encode(input).map_err(|source| PluginError::Malformed {
            call: "handle",
            source,
        })?;
        let out = match &mut self.runner {
            Runner::InProcess(instance) => instance.handle(&bytes)?,
            Runner::Worker(worker) => worker.call("handle", &Request::Handle(bytes)).await?,
        };
        codec::decode_effects(&out).map_err(|source| PluginError::Malformed {
            call: "handle",
            source,
        })
    }

    /// The plugin this instance belongs to.
    pub fn plugin(&self) -> &Arc<Plugin> {
        &self.plugin
    }
}

/// Has a short-lived worker process load the plugin from `file` and describe it: a plugin that
/// crashes whoever loads it takes down only that worker.
pub(crate) async fn check(file: &PluginFile) -> Result<DriverDescription, PluginError> {
    let mut worker = Worker::spawn(file)?;
    let bytes = match worker.call("describe", &Request::Describe).await {
        Ok(bytes) => bytes,
        Err(PluginError::WorkerDied { status, .. }) => {
            return Err(PluginError::CheckCrashed { status });
        }
        Err(e) => return Err(e),
    };
    codec::decode(&bytes).map_err(|source| PluginError::Malformed {
        call: "describe",
        source,
    })
}

/// Calls `describe`, which fills a buffer with the description's CBOR.
fn describe_bytes(table: &PluginV1) -> Result<Vec<u8>, PluginError> {
    call_buffer("describe", table, |out| {
        // SAFETY: `out` is a valid empty buffer.
        unsafe { (table.describe)(out) }
    })
}

/// Calls an entry point that fills a buffer, copies the buffer and hands it back to the plugin.
fn call_buffer(
    call: &'static str,
    table: &PluginV1,
    f: impl FnOnce(*mut Buffer) -> i32,
) -> Result<Vec<u8>, PluginError> {
    let mut buffer = Buffer::empty();
    let status = f(&mut buffer);
    let bytes = if buffer.ptr.is_null() || buffer.len == 0 {
        Vec::new()
    } else {
        // SAFETY: the plugin filled `len` bytes at `ptr`.
        unsafe { std::slice::from_raw_parts(buffer.ptr, buffer.len) }.to_vec()
    };
    if !buffer.ptr.is_null() {
        // SAFETY: the buffer was filled by this plugin and is freed once.
        unsafe { (table.free_buffer)(&mut buffer) };
    }
    let message = || String::from_utf8_lossy(&bytes).into_owned();
    match status {
        abi::STATUS_OK => Ok(bytes),
        abi::STATUS_PANIC => Err(PluginError::Panicked {
            call,
            message: message(),
        }),
        abi::STATUS_ERROR => Err(PluginError::Failed {
            call,
            message: message(),
        }),
        other => Err(PluginError::Failed {
            call,
            message: format!("unknown status {other}: {}", message()),
        }),
    }
}

fn static_str(ptr: *const std::ffi::c_char, field: &str) -> Result<&'static str, PluginError> {
    if ptr.is_null() {
        return Err(PluginError::BadTable(format!("{field} is null")));
    }
    // SAFETY: ABI v1 says the pointer is a NUL-terminated static string of the library.
    let text = unsafe { CStr::from_ptr(ptr) };
    text.to_str()
        .map_err(|_| PluginError::BadTable(format!("{field} is not UTF-8")))
}

/// Checks that `path` (a directory when `dir`, else a regular file) is owned by root and writable
/// by nobody else.
pub(crate) fn check_root_only(path: &Path, dir: bool) -> Result<(), String> {
    use std::os::unix::fs::MetadataExt;
    let metadata = std::fs::metadata(path).map_err(|e| format!("cannot inspect it: {e}"))?;
    let (kind, right_kind) = if dir {
        ("directory", metadata.is_dir())
    } else {
        ("regular file", metadata.is_file())
    };
    if !right_kind {
        return Err(format!("not a {kind}"));
    }
    if metadata.uid() != 0 {
        return Err(format!("owned by uid {}, not root", metadata.uid()));
    }
    let mode = metadata.mode() & 0o7777;
    if mode & 0o022 != 0 {
        return Err(format!(
            "mode {mode:04o} lets users other than root write it"
        ));
    }
    Ok(())
}

/// An error and its sources, as one line (libloading keeps dlerror's text in the source).
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// Whether `file_name` is one the host may open as a plugin.
pub fn is_plugin_file_name(file_name: &str) -> bool {
    driver_part(file_name).is_some_and(|name| {
        !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    })
}

/// The plugin files in `dirs` the host may open: directories in order, files sorted by name,
/// each refusal logged.
fn plugin_files(dirs: &[PathBuf]) -> Vec<PathBuf> {
    // Code loaded into a root daemon must be as protected as the daemon itself.
    let as_root = nix::unistd::geteuid().is_root();
    let mut found = Vec::new();
    for dir in dirs {
        if as_root && let Err(why) = check_root_only(dir, true) {
            tracing::error!(dir = %dir.display(), "refusing plugin directory: {why}");
            continue;
        }
        let entries = match std::fs::read_dir(dir) {
            Ok(entries) => entries,
            Err(e) => {
                tracing::warn!(dir = %dir.display(), "cannot read plugin directory: {e}");
                continue;
            }
        };
        let mut files: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .filter(|entry| entry.file_name().to_str().is_some_and(is_plugin_file_name))
            .map(|entry| entry.path())
            .collect();
        files.sort();
        for path in files {
            if as_root && let Err(why) = check_root_only(&path, false) {
                tracing::error!(plugin = %path.display(), "refusing plugin: {why}");
                continue;
            }
            found.push(path);
        }
    }
    found
}

/// The `<name>` of a `libm2mhal_driver_<name>.so` path.
pub(crate) fn file_driver_name(path: &Path) -> Option<&str> {
    path.file_name()?.to_str().and_then(driver_part)
}

/// The `<name>` of a `libm2mhal_driver_<name>.so` file name, unchecked.
fn driver_part(file_name: &str) -> Option<&str> {
    file_name
        .strip_prefix(FILE_PREFIX)?
        .strip_suffix(FILE_SUFFIX)
}

/// All plugins that loaded, in the order found (directories in order, files sorted by name).
#[derive(Debug, Default)]
pub struct PluginSet {
    plugins: Vec<Arc<Plugin>>,
}

impl PluginSet {
    /// Loads every plugin file in `dirs`, logging each refusal and going on. The plugins that
    /// `placement` isolates (by their file name, `libm2mhal_driver_<name>.so`) are loaded by
    /// worker processes instead of the daemon. The files are checked in parallel and logged in
    /// the order found.
    pub async fn load(dirs: &[PathBuf], placement: Placement<'_>) -> PluginSet {
        let paths = plugin_files(dirs);
        let loads = paths.iter().map(|path| {
            let isolate = file_driver_name(path).is_none_or(|name| placement.isolates(name));
            Plugin::load(path, isolate)
        });
        let loaded = futures_util::future::join_all(loads).await;
        let mut set = PluginSet::default();
        for (path, loaded) in paths.iter().zip(loaded) {
            set.add(path, loaded);
        }
        for name in placement.isolated {
            if !set.iter().any(|p| p.is_isolated() && p.name() == name) {
                tracing::warn!(
                    "isolated_drivers names {name:?}, but no libm2mhal_driver_{name}.so providing it was loaded"
                );
            }
        }
        set
    }

    fn add(&mut self, path: &Path, loaded: Result<Plugin, PluginError>) {
        match loaded {
            Ok(plugin) => {
                if let Some(existing) = self.get(plugin.name()) {
                    tracing::error!(
                        plugin = %path.display(),
                        "refusing plugin: driver name {:?} is already provided by {}",
                        plugin.name(),
                        existing.path.display()
                    );
                    return;
                }
                tracing::info!(
                    plugin = %path.display(),
                    abi = %plugin.description.abi(),
                    "loaded driver {} {}{}",
                    plugin.name(),
                    plugin.description.version,
                    if plugin.is_isolated() { " (isolated: one worker process per device)" } else { "" }
                );
                self.plugins.push(Arc::new(plugin));
            }
            Err(e) => tracing::error!(plugin = %path.display(), "refusing plugin: {e}"),
        }
    }

    /// The plugin providing driver `name`.
    pub fn get(&self, name: &str) -> Option<&Arc<Plugin>> {
        self.plugins.iter().find(|p| p.name() == name)
    }

    /// Every loaded plugin.
    pub fn iter(&self) -> impl Iterator<Item = &Arc<Plugin>> {
        self.plugins.iter()
    }
}

/// Plugin sets made of descriptions alone, for the unit tests of what the daemon decides from
/// them (which driver claims a device).
#[cfg(test)]
impl PluginSet {
    /// Plugins that describe themselves as `descriptions` say, in this order. Their code is a
    /// file that is no plugin (`/dev/null`), run by workers: opening an instance fails.
    pub(crate) fn described(descriptions: Vec<DriverDescription>) -> PluginSet {
        let plugins = descriptions.into_iter().map(|description| {
            let file = PluginFile::open(Path::new("/dev/null")).expect("open /dev/null");
            Arc::new(Plugin {
                path: PathBuf::from(format!("libm2mhal_driver_{}.so", description.name)),
                description,
                code: Code::Isolated(file),
            })
        });
        PluginSet {
            plugins: plugins.collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_driver_files_are_plugin_names() {
        assert!(is_plugin_file_name("libm2mhal_driver_cellular.so"));
        assert!(is_plugin_file_name("libm2mhal_driver_acme-x1.so"));
        assert!(!is_plugin_file_name("libm2mhal_driver_.so"));
        assert!(!is_plugin_file_name("libm2mhal_driver_cellular.so.1"));
        assert!(!is_plugin_file_name("libother.so"));
        assert!(!is_plugin_file_name("libm2mhal_driver_../x.so"));
        assert!(!is_plugin_file_name("README"));
    }

    #[test]
    fn plugin_paths_must_be_root_only() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("libm2mhal_driver_x.so");
        std::fs::write(&file, b"").unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        if nix::unistd::geteuid().is_root() {
            assert_eq!(check_root_only(dir.path(), true), Ok(()));
            assert_eq!(check_root_only(&file, false), Ok(()));
        }
        assert_eq!(check_root_only(&file, true), Err("not a directory".into()));
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o666)).unwrap();
        let refused = check_root_only(&file, false).unwrap_err();
        assert!(
            refused.contains("0666") || refused.contains("not root"),
            "{refused}"
        );
    }

    #[test]
    fn third_party_drivers_are_isolated_unless_trusted_and_shipped_ones_unless_named() {
        let none: Vec<String> = Vec::new();
        let default = Placement {
            isolated: &none,
            in_process: &none,
        };
        assert!(!default.isolates("cellular") && !default.isolates("ble"));
        assert!(default.isolates("acme"));
        let (isolated, trusted) = (vec!["cellular".to_owned()], vec!["acme".to_owned()]);
        let configured = Placement {
            isolated: &isolated,
            in_process: &trusted,
        };
        assert!(configured.isolates("cellular") && !configured.isolates("iridium"));
        assert!(!configured.isolates("acme") && configured.isolates("other"));
    }

    #[test]
    fn the_driver_name_of_a_plugin_file() {
        assert_eq!(
            file_driver_name(Path::new(
                "/usr/lib/m2mhal/drivers/libm2mhal_driver_cellular.so"
            )),
            Some("cellular")
        );
        assert_eq!(file_driver_name(Path::new("/x/libother.so")), None);
    }

    // A whole `PluginSet` is tested end to end (tests/tests/bad_input.rs, plugin_check.rs): its
    // checking workers are the m2mhald binary, which a unit test does not have.
    #[test]
    fn garbage_file_is_refused_with_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("libm2mhal_driver_garbage.so");
        std::fs::write(&path, b"this is not an ELF file").unwrap();
        let err = Library::load(&path).unwrap_err();
        assert!(matches!(err, PluginError::Load(_)), "{err}");
        let err = Library::load_file(PluginFile::open(&path).unwrap()).unwrap_err();
        assert!(matches!(err, PluginError::Load(_)), "{err}");
    }
}
