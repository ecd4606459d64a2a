# Builds and installs corten as runc and crun are installed: the binary,
# its man pages (section 8) and bash, zsh and fish completions, all
# generated from the clap grammar (crates/docgen). Thin over cargo;
# `cargo install --path crates/corten` works too, binary only.
#
#   make                       release binary, man pages, completions
#   make install               into $(DESTDIR)$(PREFIX) (/usr/local)
#   make uninstall             removes exactly what install put there
#   make deb                   target/deb/corten_VERSION_ARCH.deb
#
# .cargo/config.toml names the target (a static-pie binary): builds land
# in target/$(TRIPLE)/.

PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
DATADIR ?= $(PREFIX)/share
MANDIR ?= $(DATADIR)/man
BASHCOMPDIR ?= $(DATADIR)/bash-completion/completions
ZSHCOMPDIR ?= $(DATADIR)/zsh/site-functions
FISHCOMPDIR ?= $(DATADIR)/fish/vendor_completions.d
DESTDIR ?=

CARGO ?= cargo
TRIPLE := x86_64-unknown-linux-gnu
RELEASE := target/$(TRIPLE)/release
GEN := target/gen
VERSION := $(shell sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n1)

.PHONY: all build docs install uninstall deb clean

all: build docs

build:
	$(CARGO) build --release -p corten

# The generator is a debug build: it runs once and the release profile's
# LTO would only slow it down.
docs:
	$(CARGO) build -p corten-docgen
	rm -rf $(GEN)
	target/$(TRIPLE)/debug/corten-docgen $(GEN)

install: all
	install -D -m 0755 $(RELEASE)/corten $(DESTDIR)$(BINDIR)/corten
	install -d $(DESTDIR)$(MANDIR)/man8
	install -m 0644 $(GEN)/man/*.8 $(DESTDIR)$(MANDIR)/man8/
	install -D -m 0644 $(GEN)/completions/corten.bash $(DESTDIR)$(BASHCOMPDIR)/corten
	install -D -m 0644 $(GEN)/completions/_corten $(DESTDIR)$(ZSHCOMPDIR)/_corten
	install -D -m 0644 $(GEN)/completions/corten.fish $(DESTDIR)$(FISHCOMPDIR)/corten.fish

# The pages are the generator's list, so nothing else named corten-* goes.
uninstall: docs
	rm -f $(DESTDIR)$(BINDIR)/corten
	rm -f $(addprefix $(DESTDIR)$(MANDIR)/man8/,$(notdir $(wildcard $(GEN)/man/*.8)))
	rm -f $(DESTDIR)$(BASHCOMPDIR)/corten $(DESTDIR)$(ZSHCOMPDIR)/_corten
	rm -f $(DESTDIR)$(FISHCOMPDIR)/corten.fish

# A Debian package: the same files under /usr (Debian's completion
# directories, compressed man pages) and podman's registration of the
# runtime name (podman reads /etc/containers/containers.conf.d), built with
# dpkg-deb.
DEB := target/deb
ARCH = $(shell dpkg --print-architecture)
deb: all
	rm -rf $(DEB)/root
	$(MAKE) --no-print-directory install DESTDIR=$(CURDIR)/$(DEB)/root PREFIX=/usr \
		ZSHCOMPDIR=/usr/share/zsh/vendor-completions
	gzip -9n $(DEB)/root/usr/share/man/man8/*.8
	install -D -m 0644 hack/deb-podman.conf \
		$(DEB)/root/etc/containers/containers.conf.d/50-corten.conf
	install -d $(DEB)/root/DEBIAN
	sed -e 's/@VERSION@/$(VERSION)/' -e 's/@ARCH@/$(ARCH)/' \
		-e "s/@SIZE@/$$(du -sk $(DEB)/root/usr | cut -f1)/" \
		hack/deb-control.in > $(DEB)/root/DEBIAN/control
	dpkg-deb --root-owner-group --build $(DEB)/root $(DEB)/corten_$(VERSION)_$(ARCH).deb

clean:
	$(CARGO) clean
