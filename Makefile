# Build and install m2mhal.
#
#   make                                   release build of the workspace, man pages and shell
#                                          completions (as a normal user)
#   sudo make install                      install what `make` built; never builds as root
#   sudo make install-sim                  the simulator m2msim too (not on a production gateway)
#   make install-dev                       only the plugin SDK for C: the header and its pkg-config
#                                          file m2mhal-plugin.pc (`make install` includes it)
#   sudo make install-mqtt                 the MQTT bridge m2mhal-mqtt, its unit, user and rights
#   make install DESTDIR=/tmp/stage        stage the tree, e.g. for a package
#   sudo make uninstall [uninstall-sim] [uninstall-mqtt]
#                                          remove the installed files (keeps config and state)
#   make generated                         only the man pages and completions, from BIN_DIR's xtask
#   make deb                               Debian packages m2mhal, m2mhal-sim and m2mhal-mqtt in
#                                          target/debian
#
# Variables: PREFIX (/usr), SYSCONFDIR (/etc), DESTDIR (empty), BIN_DIR (the directory holding
# the built binaries and plugins: $(CARGO_TARGET_DIR)/release, or target/release), GEN_DIR (the
# generated man pages and completions: $(BIN_DIR)/generated), UNITDIR and UDEVRULESDIR.

PREFIX     ?= /usr
SYSCONFDIR ?= /etc
DESTDIR    ?=
CARGO      ?= cargo

TARGET_DIR ?= $(if $(CARGO_TARGET_DIR),$(CARGO_TARGET_DIR),target)
BIN_DIR    ?= $(TARGET_DIR)/release
GEN_DIR    ?= $(BIN_DIR)/generated

SBINDIR      := $(PREFIX)/sbin
BINDIR       := $(PREFIX)/bin
DRIVERDIR    := $(PREFIX)/lib/m2mhal/drivers
INCLUDEDIR   := $(PREFIX)/include/m2mhal
# The SDK is header-only, so its pkg-config file is architecture-independent.
PKGCONFIGDIR := $(PREFIX)/share/pkgconfig
UDEVRULESDIR := $(PREFIX)/lib/udev/rules.d
UNITDIR      := $(PREFIX)/lib/systemd/system
DBUSPOLICYDIR  := $(PREFIX)/share/dbus-1/system.d
DBUSSERVICEDIR := $(PREFIX)/share/dbus-1/system-services
DBUSIFACEDIR   := $(PREFIX)/share/dbus-1/interfaces
POLKITDIR    := $(PREFIX)/share/polkit-1/actions
POLKITRULESDIR := $(PREFIX)/share/polkit-1/rules.d
SYSUSERSDIR  := $(PREFIX)/lib/sysusers.d
MANDIR       := $(PREFIX)/share/man
BASHCOMPDIR  := $(PREFIX)/share/bash-completion/completions
ZSHCOMPDIR   := $(PREFIX)/share/zsh/vendor-completions
FISHCOMPDIR  := $(PREFIX)/share/fish/vendor_completions.d
DOCDIR       := $(PREFIX)/share/doc/m2mhal
CONFDIR      := $(SYSCONFDIR)/m2mhal

# Built files: the daemon, the client, the simulator, and every driver plugin the build produced.
DAEMON   := $(BIN_DIR)/m2mhald
CLIENT   := $(BIN_DIR)/m2mctl
SIM      := $(BIN_DIR)/m2msim
BRIDGE   := $(BIN_DIR)/m2mhal-mqtt
PLUGINS   = $(wildcard $(BIN_DIR)/libm2mhal_driver_*.so)
# Generated from the command lines (`xtask generate`): man pages and m2mctl's completions.
DAEMON_MAN  := $(GEN_DIR)/man/man8/m2mhald.8
CLIENT_MAN   = $(wildcard $(GEN_DIR)/man/man1/m2mctl.1 $(GEN_DIR)/man/man1/m2mctl-*.1)
SIM_MAN      = $(wildcard $(GEN_DIR)/man/man1/m2msim.1 $(GEN_DIR)/man/man1/m2msim-*.1)
BRIDGE_MAN  := $(GEN_DIR)/man/man8/m2mhal-mqtt.8
COMPLETIONS := $(GEN_DIR)/completions
# The introspection XML of every interface.
INTERFACES  := $(wildcard docs/dbus/*.xml)

# The plugin SDK for C: the header, and the pkg-config file made from its template.
PLUGIN_HEADER := plugin-api/include/m2mhal_plugin.h
PLUGIN_PC_IN  := plugin-api/m2mhal-plugin.pc.in
# The SDK's version is the plugin-api crate's.
PLUGIN_API_VERSION := $(shell sed -n 's/^version = "\(.*\)"/\1/p' plugin-api/Cargo.toml)

# Files installed as they are in the source tree: source -> destination directory.
DATA := \
	udev/70-m2mhal.rules:$(UDEVRULESDIR) \
	dist/systemd/m2mhald.service:$(UNITDIR) \
	dist/dbus/org.m2mhal.Hal1.conf:$(DBUSPOLICYDIR) \
	dist/dbus/org.m2mhal.Hal1.service:$(DBUSSERVICEDIR) \
	dist/polkit/org.m2mhal.Hal1.policy:$(POLKITDIR) \
	docs/install.md:$(DOCDIR) \
	udev/README.md:$(DOCDIR)/udev \
	udev/71-m2mhal-exclusive.rules:$(DOCDIR)/udev \
	dist/polkit/50-m2mhal-group.rules.example:$(DOCDIR) \
	dist/m2mhald.toml:$(DOCDIR)

# The MQTT bridge's files: source -> destination directory.
BRIDGE_DATA := \
	dist/systemd/m2mhal-mqtt.service:$(UNITDIR) \
	dist/sysusers.d/m2mhal-mqtt.conf:$(SYSUSERSDIR) \
	dist/polkit/50-m2mhal-mqtt.rules:$(POLKITRULESDIR) \
	dist/dbus/org.m2mhal.Mqtt1.conf:$(DBUSPOLICYDIR)

.PHONY: all build generated install install-check install-dev install-sim install-sim-check \
	uninstall uninstall-dev uninstall-sim install-mqtt install-mqtt-check uninstall-mqtt deb

all: build

build:
	$(CARGO) build --release --workspace
	$(BIN_DIR)/xtask generate $(GEN_DIR)

# The man pages and completions, by the xtask binary of a build (`cargo build --workspace`).
generated:
	@test -x $(BIN_DIR)/xtask || { echo "$(BIN_DIR)/xtask is missing: run 'make' first" >&2; exit 1; }
	$(BIN_DIR)/xtask generate $(GEN_DIR)

# Refuses to install a partial build instead of building as root.
install-check:
	@for f in $(DAEMON) $(CLIENT); do \
		test -x "$$f" || { echo "$$f is missing: run 'make' first (BIN_DIR=$(BIN_DIR))" >&2; exit 1; }; \
	done
	@test -n "$(PLUGINS)" || { echo "no driver plugins in $(BIN_DIR): run 'make' first" >&2; exit 1; }
	@test -f $(DAEMON_MAN) || { echo "no man pages in $(GEN_DIR): run 'make' first" >&2; exit 1; }

install: install-check install-dev
	install -D -m 0755 $(DAEMON) $(DESTDIR)$(SBINDIR)/m2mhald
	install -D -m 0755 $(CLIENT) $(DESTDIR)$(BINDIR)/m2mctl
	for f in $(PLUGINS); do install -D -m 0644 "$$f" $(DESTDIR)$(DRIVERDIR)/$$(basename "$$f"); done
	install -D -m 0644 $(DAEMON_MAN) $(DESTDIR)$(MANDIR)/man8/m2mhald.8
	for f in $(CLIENT_MAN); do install -D -m 0644 "$$f" $(DESTDIR)$(MANDIR)/man1/$$(basename "$$f"); done
	install -D -m 0644 $(COMPLETIONS)/m2mctl.bash $(DESTDIR)$(BASHCOMPDIR)/m2mctl
	install -D -m 0644 $(COMPLETIONS)/_m2mctl $(DESTDIR)$(ZSHCOMPDIR)/_m2mctl
	install -D -m 0644 $(COMPLETIONS)/m2mctl.fish $(DESTDIR)$(FISHCOMPDIR)/m2mctl.fish
	for f in $(INTERFACES); do install -D -m 0644 "$$f" $(DESTDIR)$(DBUSIFACEDIR)/$$(basename "$$f"); done
	for pair in $(DATA); do \
		src=$${pair%%:*}; dir=$${pair#*:}; \
		install -D -m 0644 "$$src" "$(DESTDIR)$$dir/$$(basename "$$src")" || exit 1; \
	done
	@# The config is the administrator's: install the default only where there is none.
	if [ -e $(DESTDIR)$(CONFDIR)/m2mhald.toml ]; then \
		echo "keeping the existing $(DESTDIR)$(CONFDIR)/m2mhald.toml"; \
	else \
		install -D -m 0644 dist/m2mhald.toml $(DESTDIR)$(CONFDIR)/m2mhald.toml; \
	fi
	@if [ -z "$(DESTDIR)" ]; then \
		echo "installed; next: systemctl daemon-reload && udevadm control --reload && systemctl enable --now m2mhald"; \
	fi

# The plugin SDK for C (needs no build): what a third-party C driver compiles against.
install-dev:
	install -D -m 0644 $(PLUGIN_HEADER) $(DESTDIR)$(INCLUDEDIR)/$$(basename $(PLUGIN_HEADER))
	mkdir -p $(DESTDIR)$(PKGCONFIGDIR)
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@VERSION@|$(PLUGIN_API_VERSION)|' $(PLUGIN_PC_IN) \
		> $(DESTDIR)$(PKGCONFIGDIR)/m2mhal-plugin.pc
	chmod 0644 $(DESTDIR)$(PKGCONFIGDIR)/m2mhal-plugin.pc

uninstall-dev:
	rm -f $(DESTDIR)$(INCLUDEDIR)/$$(basename $(PLUGIN_HEADER)) \
		$(DESTDIR)$(PKGCONFIGDIR)/m2mhal-plugin.pc
	-rmdir $(DESTDIR)$(INCLUDEDIR) 2>/dev/null

# The simulator, for development and test rigs: a production gateway does without it.
install-sim-check:
	@test -x $(SIM) || { echo "$(SIM) is missing: run 'make' first (BIN_DIR=$(BIN_DIR))" >&2; exit 1; }
	@test -n "$(SIM_MAN)" || { echo "no man pages in $(GEN_DIR): run 'make' first" >&2; exit 1; }

install-sim: install-sim-check
	install -D -m 0755 $(SIM) $(DESTDIR)$(BINDIR)/m2msim
	for f in $(SIM_MAN); do install -D -m 0644 "$$f" $(DESTDIR)$(MANDIR)/man1/$$(basename "$$f"); done

# The MQTT bridge, for gateways run from a broker.
install-mqtt-check:
	@test -x $(BRIDGE) || { echo "$(BRIDGE) is missing: run 'make' first (BIN_DIR=$(BIN_DIR))" >&2; exit 1; }
	@test -f $(BRIDGE_MAN) || { echo "no man pages in $(GEN_DIR): run 'make' first" >&2; exit 1; }

install-mqtt: install-mqtt-check
	install -D -m 0755 $(BRIDGE) $(DESTDIR)$(SBINDIR)/m2mhal-mqtt
	install -D -m 0644 $(BRIDGE_MAN) $(DESTDIR)$(MANDIR)/man8/m2mhal-mqtt.8
	for pair in $(BRIDGE_DATA); do \
		src=$${pair%%:*}; dir=$${pair#*:}; \
		install -D -m 0644 "$$src" "$(DESTDIR)$$dir/$$(basename "$$src")" || exit 1; \
	done
	if [ -e $(DESTDIR)$(CONFDIR)/m2mhal-mqtt.toml ]; then \
		echo "keeping the existing $(DESTDIR)$(CONFDIR)/m2mhal-mqtt.toml"; \
	else \
		install -D -m 0644 dist/m2mhal-mqtt.toml $(DESTDIR)$(CONFDIR)/m2mhal-mqtt.toml; \
	fi
	@if [ -z "$(DESTDIR)" ]; then \
		echo "installed; next: systemd-sysusers && systemctl daemon-reload && systemctl enable --now m2mhal-mqtt"; \
	fi

uninstall-mqtt:
	rm -f $(DESTDIR)$(SBINDIR)/m2mhal-mqtt $(DESTDIR)$(MANDIR)/man8/m2mhal-mqtt.8
	for pair in $(BRIDGE_DATA); do \
		src=$${pair%%:*}; dir=$${pair#*:}; rm -f "$(DESTDIR)$$dir/$$(basename "$$src")"; \
	done
	@echo "kept $(DESTDIR)$(CONFDIR)/m2mhal-mqtt.toml and /var/lib/m2mhal-mqtt (configuration and queue)"

uninstall: uninstall-dev
	rm -f $(DESTDIR)$(SBINDIR)/m2mhald $(DESTDIR)$(BINDIR)/m2mctl
	rm -f $(DESTDIR)$(DRIVERDIR)/libm2mhal_driver_*.so
	rm -f $(DESTDIR)$(MANDIR)/man8/m2mhald.8 $(DESTDIR)$(MANDIR)/man1/m2mctl.1 \
		$(DESTDIR)$(MANDIR)/man1/m2mctl-*.1
	rm -f $(DESTDIR)$(BASHCOMPDIR)/m2mctl $(DESTDIR)$(ZSHCOMPDIR)/_m2mctl \
		$(DESTDIR)$(FISHCOMPDIR)/m2mctl.fish
	for f in $(INTERFACES); do rm -f $(DESTDIR)$(DBUSIFACEDIR)/$$(basename "$$f"); done
	for pair in $(DATA); do \
		src=$${pair%%:*}; dir=$${pair#*:}; rm -f "$(DESTDIR)$$dir/$$(basename "$$src")"; \
	done
	-rmdir $(DESTDIR)$(DRIVERDIR) $(DESTDIR)$(PREFIX)/lib/m2mhal \
		$(DESTDIR)$(DOCDIR)/udev $(DESTDIR)$(DOCDIR) 2>/dev/null
	@echo "kept $(DESTDIR)$(CONFDIR) and /var/lib/m2mhal (configuration and message store)"

uninstall-sim:
	rm -f $(DESTDIR)$(BINDIR)/m2msim $(DESTDIR)$(MANDIR)/man1/m2msim.1 \
		$(DESTDIR)$(MANDIR)/man1/m2msim-*.1

# Debian packages from what `make` built (see debian/ and scripts/build-deb.sh).
deb:
	scripts/build-deb.sh --bin-dir $(BIN_DIR) --out $(TARGET_DIR)/debian
