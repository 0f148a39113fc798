#!/bin/sh
# One-shot: wait until the Temporal frontend is healthy, register the namespace if missing, then
# the carrierlink search attributes. Idempotent: what already exists is fine.
set -eu

ADDRESS="${TEMPORAL_ADDRESS:-temporal:7233}"
NAMESPACE="${TEMPORAL_NAMESPACE:-default}"
ATTEMPTS="${TEMPORAL_SETUP_ATTEMPTS:-90}"

RETENTION="${TEMPORAL_NAMESPACE_RETENTION:-168h}"

echo "waiting for the Temporal server on $ADDRESS"
i=0
until temporal operator cluster health --address "$ADDRESS" >/dev/null 2>&1; do
    i=$((i + 1))
    if [ "$i" -ge "$ATTEMPTS" ]; then
        echo "temporal at $ADDRESS did not become healthy in time" >&2
        exit 1
    fi
    sleep 2
done

# The production server image creates no namespace (auto-setup did): register it once.
if ! temporal operator namespace describe --address "$ADDRESS" --namespace "$NAMESPACE" \
        >/dev/null 2>&1; then
    if out=$(temporal operator namespace create --address "$ADDRESS" --namespace "$NAMESPACE" \
            --retention "$RETENTION" 2>&1); then
        echo "registered namespace '$NAMESPACE' (retention $RETENTION)"
    elif ! printf '%s' "$out" | grep -qi 'already'; then
        printf '%s\n' "$out" >&2
        exit 1
    fi
fi

echo "waiting for namespace '$NAMESPACE' on $ADDRESS"
i=0
# Listing the namespace's search attributes succeeds once the namespace is registered and the
# frontend's namespace cache has caught up.
until temporal operator search-attribute list --address "$ADDRESS" --namespace "$NAMESPACE" >/dev/null 2>&1; do
    i=$((i + 1))
    if [ "$i" -ge "$ATTEMPTS" ]; then
        echo "temporal at $ADDRESS did not serve namespace '$NAMESPACE' in time" >&2
        exit 1
    fi
    sleep 2
done

register() {
    name="$1"
    type="$2"
    if out=$(temporal operator search-attribute create --address "$ADDRESS" \
            --namespace "$NAMESPACE" --name "$name" --type "$type" 2>&1); then
        echo "registered $name ($type)"
    elif printf '%s' "$out" | grep -qi 'already exists' \
            && ! printf '%s' "$out" | grep -qi 'different type'; then
        echo "$name already registered as $type"
    else
        printf '%s\n' "$out" >&2
        exit 1
    fi
}

register CarrierId Keyword
register GroupId Keyword
register CarrierGroupId Keyword
register ConnectionStatus Keyword
register DisconnectionStatus Keyword
register RenewalStatus Keyword

temporal operator search-attribute list --address "$ADDRESS" --namespace "$NAMESPACE"
