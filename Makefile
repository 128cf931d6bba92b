# rcon: build, test, demo, install.  `make help` lists the targets.

PREFIX    ?= /usr/local
BINDIR    ?= $(PREFIX)/bin
MANDIR    ?= $(PREFIX)/share/man/man1
CARGO     ?= cargo
RELEASE   := target/release/rcon
# The unprivileged user rootless tests run as when `make test` is run by root.
TEST_USER ?= rcontest

# Debian packages rcon and its tests use on the host.
HOST_PKGS := uidmap busybox-static git skopeo attr slirp4netns passt fuse-overlayfs xz-utils bzip2 zstd zip \
             docker-registry apache2-utils openssl libseccomp-dev pkg-config make gcc \
             python3 openssh-client curl

export RCON_TEST_USER = $(TEST_USER)

.PHONY: all build deps demo test test-setup install install-docker-links man completions clean help

all: build

help:
	@echo "make demo        install host packages (as root; as a user: list them), build, run the demo"
	@echo "make test        prepare the machine (as root) and run every test"
	@echo "make install     install rcon, man pages, completions and the systemd user units under PREFIX=$(PREFIX)"
	@echo "make install-docker-links   also install \`docker\` and \`docker-compose\` as links to rcon (BINDIR=$(BINDIR); FORCE=1 replaces a real docker)"

build:
	$(CARGO) build --release --locked

# As root: install what is missing. As a user: say what to install and stop.
deps:
	@missing=$$(for p in $(HOST_PKGS); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; done); \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ]; then \
		echo "installing: $$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	else \
		echo "missing host packages; install them with:"; \
		echo "  sudo apt-get install -y $$missing"; exit 1; \
	fi

demo: deps build
	sh contrib/demo.sh $(RELEASE)

# Machine preparation for the tests (idempotent; root only): packages, an
# unprivileged user with a subuid/subgid range, and the device modes
# docs/TESTING.md describes (Debian ships /dev/net/tun and /dev/fuse 0666;
# these machines have 0600).
test-setup: deps
	@if [ "$$(id -u)" = 0 ]; then \
		id -u $(TEST_USER) >/dev/null 2>&1 || useradd -m -s /bin/sh $(TEST_USER); \
		grep -q "^$(TEST_USER):" /etc/subuid || usermod --add-subuids 200000-265535 $(TEST_USER); \
		grep -q "^$(TEST_USER):" /etc/subgid || usermod --add-subgids 200000-265535 $(TEST_USER); \
		for d in /dev/net/tun /dev/fuse; do [ -e $$d ] && chmod 0666 $$d || true; done; \
		TEST_USER=$(TEST_USER) bash contrib/test-setup/api-clients.sh; \
	else \
		grep -q "^$$(id -un):" /etc/subuid || echo "note: $$(id -un) has no /etc/subuid range; ask root for: usermod --add-subuids 100000-165535 --add-subgids 100000-165535 $$(id -un)"; \
	fi

# As root, the Docker oracle (dockerd 20.10 on a private socket) runs for
# the differential API tests and is stopped afterwards.
test: test-setup
	@if [ "$$(id -u)" = 0 ]; then bash contrib/test-setup/oracle.sh start >/dev/null; fi; \
	status=0; \
	if command -v cargo-nextest >/dev/null 2>&1; then \
		$(CARGO) nextest run --locked --no-fail-fast || status=$$?; \
	else \
		$(CARGO) test --locked --no-fail-fast || status=$$?; \
	fi; \
	if [ "$$(id -u)" = 0 ]; then bash contrib/test-setup/oracle.sh stop || true; fi; \
	exit $$status

man: build
	$(RELEASE) __man man

completions: build
	mkdir -p contrib/completions
	$(RELEASE) completion bash > contrib/completions/rcon.bash
	$(RELEASE) completion zsh > contrib/completions/_rcon
	$(RELEASE) completion fish > contrib/completions/rcon.fish

install: man completions
	install -D -m 0755 $(RELEASE) $(DESTDIR)$(BINDIR)/rcon
	install -d $(DESTDIR)$(MANDIR)
	install -m 0644 man/*.1 $(DESTDIR)$(MANDIR)/
	install -D -m 0644 contrib/completions/rcon.bash $(DESTDIR)$(PREFIX)/share/bash-completion/completions/rcon
	install -D -m 0644 contrib/completions/_rcon $(DESTDIR)$(PREFIX)/share/zsh/site-functions/_rcon
	install -D -m 0644 contrib/completions/rcon.fish $(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d/rcon.fish
	install -D -m 0644 contrib/systemd/rcon.socket $(DESTDIR)$(PREFIX)/lib/systemd/user/rcon.socket
	sed 's|@BINDIR@|$(BINDIR)|' contrib/systemd/rcon.service > contrib/systemd/rcon.service.out
	install -D -m 0644 contrib/systemd/rcon.service.out $(DESTDIR)$(PREFIX)/lib/systemd/user/rcon.service
	rm -f contrib/systemd/rcon.service.out

# `docker` as a link to rcon: scripts and tools that run `docker` get rcon
# (its usage and help then say `docker`). A docker that is not rcon is kept
# unless FORCE=1.
install-docker-links:
	@for n in docker docker-compose; do \
		t=$(DESTDIR)$(BINDIR)/$$n; \
		if [ -e "$$t" ] && [ "$$(readlink "$$t")" != rcon ] && [ "$(FORCE)" != 1 ]; then \
			echo "$$t exists and is not rcon; keep it, or replace it with: make install-docker-links FORCE=1"; exit 1; \
		fi; \
		install -d $(DESTDIR)$(BINDIR) && ln -sfn rcon "$$t" && echo "$$t -> rcon"; \
	done

clean:
	$(CARGO) clean
	rm -f man/*.1
