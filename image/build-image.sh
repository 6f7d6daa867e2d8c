#!/usr/bin/env bash
# build-image.sh DEB OUTDIR [--smoke]: a bootable Debian 12 appliance disk (UEFI, GPT, an ESP
# with systemd-boot, an ext4 root) made only from Debian's packages and the inkan .deb, as
# OUTDIR/inkan.qcow2.  No loop devices or mounts of the disk are needed: the root file system
# is made with `mkfs.ext4 -d`, the ESP with mtools, and the two are copied into a GPT disk.
# --smoke adds a unit that prints the first administrator's password on the serial console
# (for image/smoke-test.sh only; never ship such an image).
# Needs (Debian): mmdebstrap, e2fsprogs, dosfstools, mtools, fdisk, qemu-utils; run as root.
set -euo pipefail
deb=${1:?usage: build-image.sh DEB OUTDIR [--smoke]}
out=${2:?usage: build-image.sh DEB OUTDIR [--smoke]}
smoke=${3:-}
[ -f "$deb" ] || { echo "build-image: $deb not found" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || { echo "build-image: run as root (mmdebstrap, file ownership)" >&2; exit 1; }
for t in mmdebstrap mkfs.ext4 mkfs.vfat mcopy mmd sfdisk qemu-img; do
	command -v "$t" >/dev/null || { echo "build-image: $t missing (see image/README.md)" >&2; exit 1; }
done
mkdir -p "$out"
out=$(cd "$out" && pwd)
deb=$(cd "$(dirname "$deb")" && pwd)/$(basename "$deb")
work=$(mktemp -d "$out/.work.XXXXXX")
trap 'rm -rf "$work"' EXIT
root="$work/root"

# ---- the root tree: Debian's packages, then ours ----
pkgs=netbase,linux-image-amd64,systemd-sysv,systemd-boot-efi,udev,kmod,initramfs-tools,openssh-server,nftables,softhsm2,openssl,curl,ca-certificates,iproute2,libpam-systemd,dbus
mmdebstrap --variant=minbase --include="$pkgs" \
	--customize-hook="copy-in $deb /tmp" \
	--customize-hook='chroot "$1" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends /tmp/'"$(basename "$deb")" \
	--customize-hook='rm -f "$1/tmp/'"$(basename "$deb")"'"' \
	bookworm "$root" >"$work/mmdebstrap.log" 2>&1 \
	|| { tail -n 30 "$work/mmdebstrap.log" >&2; exit 1; }

# ---- the system around the package ----
echo inkan > "$root/etc/hostname"
cat > "$root/etc/fstab" <<'FSTAB'
LABEL=inkan-root  /          ext4  defaults,errors=remount-ro  0 1
LABEL=INKAN-ESP   /boot/efi  vfat  umask=0077,noauto,x-systemd.automount  0 2
FSTAB
mkdir -p "$root/boot/efi"
cat > "$root/etc/systemd/network/20-wired.network" <<'NET'
[Match]
Name=en* eth*

[Network]
DHCP=yes
NET
chroot "$root" systemctl enable systemd-networkd.service nftables.service >/dev/null 2>&1
cat > "$root/etc/nftables.conf" <<'NFT'
#!/usr/sbin/nft -f
flush ruleset
include "/etc/inkan/inkan.nft"
NFT
# no passwords: root is locked; administrators come in with an SSH key (put it in
# /root/.ssh/authorized_keys when deploying) from ADMIN_NET
chroot "$root" passwd -l root >/dev/null
sed -i 's/^#\?PasswordAuthentication.*/PasswordAuthentication no/' "$root/etc/ssh/sshd_config"
# every copy gets its own identity
: > "$root/etc/machine-id"
rm -f "$root"/etc/ssh/ssh_host_*
chroot "$root" systemctl enable ssh.service >/dev/null 2>&1 || true
mkdir -p "$root/etc/systemd/system/ssh.service.d"
cat > "$root/etc/systemd/system/ssh.service.d/hostkeys.conf" <<'SSHD'
# host keys made on the first start of each copy, before sshd checks its config
[Service]
ExecStartPre=
ExecStartPre=/usr/bin/ssh-keygen -A
ExecStartPre=/usr/sbin/sshd -t
SSHD

if [ "$smoke" = --smoke ]; then
	cat > "$root/usr/local/sbin/inkan-smoke-report" <<'SH'
#!/bin/sh
# SMOKE-TEST IMAGE ONLY: the first administrator's password, the daemons' state and their
# sandbox exposure, on the serial console for image/smoke-test.sh.
exec >/dev/ttyS0 2>&1
for u in inkan-signerd inkan-rad; do
	for i in $(seq 1 60); do systemctl is-active -q "$u" && break; sleep 1; done
	echo "INKAN-SMOKE $(systemctl is-active "$u") $u"
	echo "INKAN-SMOKE exposure $(systemd-analyze security "$u.service" --no-pager 2>/dev/null | tail -n 1)"
done
echo "INKAN-SMOKE failed-units: $(systemctl --failed --no-legend --plain | awk '{print $1}' | tr '\n' ' ')"
for u in $(systemctl --failed --no-legend --plain | awk '{print $1}'); do
	journalctl -b -u "$u" --no-pager -o cat | tail -n 15 | sed "s/^/INKAN-SMOKE $u: /"
done
echo "INKAN-SMOKE admin-password=$(cat /var/lib/inkan/admin.password)"
echo "INKAN-SMOKE done"
SH
	chmod 0755 "$root/usr/local/sbin/inkan-smoke-report"
	cat > "$root/etc/systemd/system/inkan-smoke.service" <<'UNIT'
# SMOKE-TEST IMAGE ONLY (image/build-image.sh --smoke)
[Unit]
After=inkan-firstboot.service inkan-rad.service
Wants=inkan-rad.service
[Service]
Type=oneshot
ExecStart=/usr/local/sbin/inkan-smoke-report
[Install]
WantedBy=multi-user.target
UNIT
	chroot "$root" systemctl enable inkan-smoke.service >/dev/null 2>&1
fi

# ---- the ESP: systemd-boot, the kernel and the initrd ----
kernel=$(ls "$root"/boot/vmlinuz-* | sort -V | tail -n 1)
initrd=$(ls "$root"/boot/initrd.img-* | sort -V | tail -n 1)
efi="$root/usr/lib/systemd/boot/efi/systemd-bootx64.efi"
[ -f "$efi" ] || { echo "build-image: no systemd-boot EFI binary in the tree" >&2; exit 1; }
esp="$work/esp.img"
truncate -s 256M "$esp"
mkfs.vfat -F 32 -n INKAN-ESP "$esp" >/dev/null
mmd -i "$esp" ::/EFI ::/EFI/BOOT ::/loader ::/loader/entries
mcopy -i "$esp" "$efi" ::/EFI/BOOT/BOOTX64.EFI
mcopy -i "$esp" "$kernel" ::/vmlinuz
mcopy -i "$esp" "$initrd" ::/initrd.img
printf 'default inkan.conf\ntimeout 0\n' > "$work/loader.conf"
printf 'title Inkan appliance\nlinux /vmlinuz\ninitrd /initrd.img\noptions root=LABEL=inkan-root rw console=tty0 console=ttyS0,115200\n' > "$work/inkan.conf"
mcopy -i "$esp" "$work/loader.conf" ::/loader/loader.conf
mcopy -i "$esp" "$work/inkan.conf" ::/loader/entries/inkan.conf

# ---- the root file system and the disk ----
rootimg="$work/root.img"
truncate -s 3G "$rootimg"
mkfs.ext4 -q -L inkan-root -d "$root" "$rootimg"
disk="$work/disk.raw"
truncate -s $((1 + 256 + 3072 + 1))M "$disk"
sfdisk -q "$disk" <<PART
label: gpt
start=1MiB, size=256MiB, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, name=esp
start=257MiB, size=3072MiB, type=4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709, name=root
PART
dd if="$esp" of="$disk" bs=1M seek=1 conv=notrunc,sparse status=none
dd if="$rootimg" of="$disk" bs=1M seek=257 conv=notrunc,sparse status=none
qemu-img convert -O qcow2 "$disk" "$out/inkan.qcow2"
echo "build-image: $out/inkan.qcow2 ($(du -h "$out/inkan.qcow2" | cut -f1))"
