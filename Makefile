# Build and install m2mhal.
#
#   make                                   release build of the workspace (as a normal user)
#   sudo make install                      install what `make` built; never builds as root
#   make install DESTDIR=/tmp/stage        stage the tree, e.g. for a package
#   sudo make uninstall                    remove the installed files (keeps config and state)
#
# Variables: PREFIX (/usr), SYSCONFDIR (/etc), DESTDIR (empty), BIN_DIR (the directory holding
# the built binaries and plugins: $(CARGO_TARGET_DIR)/release, or target/release).

PREFIX     ?= /usr
SYSCONFDIR ?= /etc
DESTDIR    ?=
CARGO      ?= cargo

TARGET_DIR ?= $(if $(CARGO_TARGET_DIR),$(CARGO_TARGET_DIR),target)
BIN_DIR    ?= $(TARGET_DIR)/release

SBINDIR      := $(PREFIX)/sbin
BINDIR       := $(PREFIX)/bin
DRIVERDIR    := $(PREFIX)/lib/m2mhal/drivers
INCLUDEDIR   := $(PREFIX)/include/m2mhal
UDEVRULESDIR := $(PREFIX)/lib/udev/rules.d
UNITDIR      := $(PREFIX)/lib/systemd/system
DBUSPOLICYDIR  := $(PREFIX)/share/dbus-1/system.d
DBUSSERVICEDIR := $(PREFIX)/share/dbus-1/system-services
POLKITDIR    := $(PREFIX)/share/polkit-1/actions
DOCDIR       := $(PREFIX)/share/doc/m2mhal
CONFDIR      := $(SYSCONFDIR)/m2mhal

# Built files: the daemon, the tools, and every driver plugin the build produced.
DAEMON   := $(BIN_DIR)/m2mhald
TOOLS    := $(BIN_DIR)/m2mctl $(BIN_DIR)/m2msim
PLUGINS   = $(wildcard $(BIN_DIR)/libm2mhal_driver_*.so)

# Files installed as they are in the source tree: source -> destination directory.
DATA := \
	plugin-api/include/m2mhal_plugin.h:$(INCLUDEDIR) \
	udev/70-m2mhal.rules:$(UDEVRULESDIR) \
	dist/systemd/m2mhald.service:$(UNITDIR) \
	dist/dbus/org.m2mhal.Hal1.conf:$(DBUSPOLICYDIR) \
	dist/dbus/org.m2mhal.Hal1.service:$(DBUSSERVICEDIR) \
	dist/polkit/org.m2mhal.Hal1.policy:$(POLKITDIR) \
	docs/install.md:$(DOCDIR) \
	udev/README.md:$(DOCDIR)/udev \
	dist/polkit/50-m2mhal-group.rules.example:$(DOCDIR) \
	dist/m2mhald.toml:$(DOCDIR)

.PHONY: all build install install-check uninstall

all: build

build:
	$(CARGO) build --release --workspace

# Refuses to install a partial build instead of building as root.
install-check:
	@for f in $(DAEMON) $(TOOLS); do \
		test -x "$$f" || { echo "$$f is missing: run 'make' first (BIN_DIR=$(BIN_DIR))" >&2; exit 1; }; \
	done
	@test -n "$(PLUGINS)" || { echo "no driver plugins in $(BIN_DIR): run 'make' first" >&2; exit 1; }

install: install-check
	install -D -m 0755 $(DAEMON) $(DESTDIR)$(SBINDIR)/m2mhald
	for f in $(TOOLS); do install -D -m 0755 "$$f" $(DESTDIR)$(BINDIR)/$$(basename "$$f"); done
	for f in $(PLUGINS); do install -D -m 0644 "$$f" $(DESTDIR)$(DRIVERDIR)/$$(basename "$$f"); done
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

uninstall:
	rm -f $(DESTDIR)$(SBINDIR)/m2mhald $(DESTDIR)$(BINDIR)/m2mctl $(DESTDIR)$(BINDIR)/m2msim
	rm -f $(DESTDIR)$(DRIVERDIR)/libm2mhal_driver_*.so
	for pair in $(DATA); do \
		src=$${pair%%:*}; dir=$${pair#*:}; rm -f "$(DESTDIR)$$dir/$$(basename "$$src")"; \
	done
	-rmdir $(DESTDIR)$(DRIVERDIR) $(DESTDIR)$(PREFIX)/lib/m2mhal $(DESTDIR)$(INCLUDEDIR) \
		$(DESTDIR)$(DOCDIR)/udev $(DESTDIR)$(DOCDIR) 2>/dev/null
	@echo "kept $(DESTDIR)$(CONFDIR) and /var/lib/m2mhal (configuration and message store)"
