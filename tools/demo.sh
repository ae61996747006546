#!/bin/sh
# The reference business on fixtures/: ingest the offers, try a refused
# approval, approve one as a manager, let the 5-day timer fire (and the
# contact requests nobody answered in 2 business days go overdue), show a
# customer's profile, reject an offer (which tags its customer), and end
# with the marketing segments: their counts, and exports of those whose
# consent allows it. Runs in var/demo/ (recreated).
set -u
cd "$(dirname "$0")/.."
top=$(pwd)
demo=$top/var/demo
rm -rf "$demo"
mkdir -p "$demo"
ln -s "$top/schemas" "$demo/schemas"
printf '{"store": "sqlite:dossier.db", "documents_dir": "documents"}\n' > "$demo/dossier.json"

d() {
	printf '\n$ dossier %s\n' "$*"
	"$top/dossier" --home "$demo" "$@"
	rc=$?
	[ "$rc" = 0 ] || printf '(exit %s)\n' "$rc"
	return 0
}

d check
d --now 2026-11-24T09:00:00Z ingest fixtures/
d case list --process offer
d case show DEV-2026-0042
d --now 2026-11-25T10:00:00Z case event DEV-2026-0042 approve --role sales
d --now 2026-11-25T10:00:00Z case event DEV-2026-0042 approve --role manager --actor "Claire Martin"
d --now 2026-12-01T09:00:00Z tick
d case list --process lead
d document list
d profile show helene.dupre@example.fr
d quarantine list
d --now 2026-12-01T09:00:00Z ingest fixtures/
d --now 2026-12-01T10:00:00Z case event DEV-2026-0801 send --role sales
d --now 2026-12-02T10:00:00Z case event DEV-2026-0801 reject --role sales
d profile show alice.martin@example.fr
d segment list
for s in offer-rejected-recently serviced-with-need no-order-12-months b2b-ile-de-france; do
	d --now 2026-12-02T12:00:00Z segment count "$s"
done
d --now 2026-12-02T12:00:00Z segment explain b2b-ile-de-france
d --now 2026-12-02T12:00:00Z segment export offer-rejected-recently --format ndjson
d --now 2026-12-02T12:00:00Z segment export b2b-ile-de-france --out "$demo/b2b-ile-de-france.csv"
d --now 2026-12-02T12:00:00Z segment export b2b-ile-de-france

cat <<EOT

Where to look:
  database   $demo/dossier.db        (SQLite; \`dossier --home var/demo ...\` to explore)
  documents  $demo/documents/offer/  (the offer PDFs, one per validated offer)
  export     $demo/b2b-ile-de-france.csv  (a segment, only profiles whose consent allows it)
  try        ./dossier --home var/demo case show DEV-2026-0005
             ./dossier --home var/demo profile list
             ./dossier --home var/demo quarantine show 1
             ./dossier --home var/demo --json document list
             ./dossier --home var/demo segment export serviced-with-need --format ndjson
EOT
