//! `refresh`, `reset`, `command`, `plugins`, `report-kernel-event`: device and daemon control.

use std::collections::HashMap;
use std::time::Duration;

use serde_json::{Value as Json, json};
use zbus::{OwnedVariant, Variant};

use super::{print, print_json};
use crate::bus::{Hal, MANAGER_PATH, iface};
use crate::cli::KernelEventArgs;
use crate::device::Properties;
use crate::error::CliError;
use crate::format::table::Table;
use crate::format::value::{properties_to_json, render, string_entry, string_list};

/// `m2mctl refresh DEVICE`: `Refresh()` on the device's Signal and Sensor interfaces.
pub async fn refresh(hal: &Hal, spec: &str) -> Result<(), CliError> {
    let device = hal.device(spec).await?;
    let refreshable: Vec<&str> = [iface::SIGNAL, iface::SENSOR]
        .into_iter()
        .filter(|interface| device.has_interface(interface))
        .collect();
    if refreshable.is_empty() {
        return Err(CliError::Failed(format!(
            "device {} has no Signal or Sensor interface to refresh",
            device.label()
        )));
    }
    for interface in refreshable {
        hal.call::<_, ()>(&device.path, interface, "Refresh", &())
            .await?;
    }
    Ok(())
}

/// `m2mctl reset DEVICE`
pub async fn reset(hal: &Hal, spec: &str) -> Result<(), CliError> {
    let device = hal.device(spec).await?;
    hal.call(&device.path, iface::DEVICE, "Reset", &()).await
}

/// `m2mctl command DEVICE LINE`: the device's response is printed as it came.
pub async fn command(
    hal: &Hal,
    json: bool,
    spec: &str,
    line: &str,
    timeout_ms: u32,
) -> Result<(), CliError> {
    let device = hal.device(spec).await?;
    // The daemon may use all of timeout_ms before it answers.
    let timeout = hal.timeout() + Duration::from_millis(u64::from(timeout_ms));
    let response: String = hal
        .call_within(
            timeout,
            &device.path,
            iface::DEVICE,
            "Command",
            &(line, timeout_ms),
        )
        .await?;
    if json {
        print_json(&json!({"response": response}))?;
    } else {
        print(&response)?;
    }
    match device_error(&response) {
        Some(result) => Err(CliError::Failed(format!(
            "device {} answered {result}",
            device.described()
        ))),
        None => Ok(()),
    }
}

/// The response's final result code when it is an error (`ERROR`, `+CME ERROR: 10`,
/// `+CMS ERROR: 500`), else `None`.
fn device_error(response: &str) -> Option<&str> {
    let last = response
        .lines()
        .map(str::trim)
        .rfind(|line| !line.is_empty())?;
    let is_error = last == "ERROR"
        || ["+CME ERROR", "+CMS ERROR", "+EXT ERROR"]
            .iter()
            .any(|prefix| last.starts_with(prefix));
    is_error.then_some(last)
}

/// `m2mctl plugins`
pub async fn plugins(hal: &Hal, json: bool) -> Result<(), CliError> {
    let plugins: Vec<HashMap<String, OwnedVariant>> = hal
        .call(MANAGER_PATH, iface::MANAGER, "ListPlugins", &())
        .await?;
    let plugins: Vec<Properties> = plugins
        .into_iter()
        .map(|plugin| plugin.into_iter().collect())
        .collect();
    if json {
        print_json(&Json::Array(
            plugins.iter().map(properties_to_json).collect(),
        ))
    } else if plugins.is_empty() {
        print("no plugins")
    } else {
        print(&plugin_table(&plugins))
    }
}

/// The `plugins` table.
fn plugin_table(plugins: &[Properties]) -> String {
    let mut table = Table::new(&["NAME", "VERSION", "ABI", "KINDS", "PATH"]);
    for plugin in plugins {
        table.push(vec![
            string_entry(plugin, "name").to_owned(),
            string_entry(plugin, "version").to_owned(),
            plugin.get("abi").map(|abi| render(abi)).unwrap_or_default(),
            plugin
                .get("kinds")
                .map(|kinds| string_list(kinds))
                .unwrap_or_default(),
            string_entry(plugin, "path").to_owned(),
        ]);
    }
    table.render()
}

/// `m2mctl report-kernel-event add|remove NAME ...`
pub async fn report_kernel_event(hal: &Hal, args: &KernelEventArgs) -> Result<(), CliError> {
    let event = kernel_event(args);
    hal.call(MANAGER_PATH, iface::MANAGER, "ReportKernelEvent", &(event,))
        .await
}

/// The `a{sv}` argument of `ReportKernelEvent`.
fn kernel_event(args: &KernelEventArgs) -> HashMap<&'static str, Variant<'_>> {
    let mut event = HashMap::from([
        ("action", Variant::from(args.action.as_str())),
        ("subsystem", Variant::from(args.subsystem.as_str())),
        ("name", Variant::from(args.name.as_str())),
    ]);
    if let Some(devnode) = &args.devnode {
        event.insert("devnode", Variant::from(devnode.as_str()));
    }
    if !args.properties.is_empty() {
        let properties: HashMap<&str, &str> = args
            .properties
            .iter()
            .map(|(key, value)| (key.as_str(), value.as_str()))
            .collect();
        event.insert("properties", Variant::from(properties));
    }
    event
}

#[cfg(test)]
mod tests {
    use zbus::Variant;

    use super::*;
    use crate::cli::KernelAction;
    use crate::test_support::owned;

    #[test]
    fn an_error_result_code_is_a_device_error() {
        assert_eq!(device_error("ERROR"), Some("ERROR"));
        assert_eq!(device_error("\r\nERROR\r\n"), Some("ERROR"));
        assert_eq!(
            device_error("+CMGS: 1\n+CMS ERROR: 500\n"),
            Some("+CMS ERROR: 500")
        );
        assert_eq!(device_error("+CME ERROR: 10"), Some("+CME ERROR: 10"));
        assert_eq!(device_error("+CSQ: 20,99\nOK"), None);
        // An information line that mentions an error is not the result code.
        assert_eq!(device_error("+QERR: ERROR\nOK"), None);
        assert_eq!(device_error(""), None);
    }

    #[test]
    fn kernel_event_has_the_documented_keys_and_types() {
        let args = KernelEventArgs {
            action: KernelAction::Add,
            name: "ttyUSB0".to_owned(),
            devnode: Some("/dev/pts/7".to_owned()),
            subsystem: "tty".to_owned(),
            properties: vec![("ID_M2MHAL_CANDIDATE".to_owned(), "1".to_owned())],
        };
        let event = kernel_event(&args);
        assert_eq!(event["action"], Variant::from("add"));
        assert_eq!(event["subsystem"], Variant::from("tty"));
        assert_eq!(event["name"], Variant::from("ttyUSB0"));
        assert_eq!(event["devnode"], Variant::from("/dev/pts/7"));
        assert_eq!(event["properties"].value_signature().to_string(), "a{ss}");
        assert_eq!(render(&event["properties"]), "{ID_M2MHAL_CANDIDATE: 1}");
    }

    #[test]
    fn minimal_kernel_event_leaves_optional_keys_out() {
        let args = KernelEventArgs {
            action: KernelAction::Remove,
            name: "ttyACM3".to_owned(),
            devnode: None,
            subsystem: "tty".to_owned(),
            properties: Vec::new(),
        };
        let event = kernel_event(&args);
        let mut keys: Vec<_> = event.keys().copied().collect();
        keys.sort_unstable();
        assert_eq!(keys, ["action", "name", "subsystem"]);
        assert_eq!(event["action"], Variant::from("remove"));
    }

    #[test]
    fn plugin_table_lists_kinds() {
        let plugin: Properties = [
            ("name", owned("cellular")),
            ("version", owned("0.1.0")),
            ("abi", owned(1u32)),
            (
                "path",
                owned("/usr/lib/m2mhal/drivers/libm2mhal_driver_cellular.so"),
            ),
            ("kinds", owned(vec!["cellular-modem"])),
        ]
        .into_iter()
        .map(|(key, value)| (key.to_owned(), value))
        .collect();
        assert_eq!(
            plugin_table(&[plugin]),
            "NAME      VERSION  ABI  KINDS           PATH\n\
             cellular  0.1.0    1    cellular-modem  /usr/lib/m2mhal/drivers/libm2mhal_driver_cellular.so\n"
        );
    }
}
