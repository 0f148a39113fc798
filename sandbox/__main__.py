"""`python -m sandbox`: serve the sandbox carriers with the `sandbox_*` settings."""

from __future__ import annotations

from runtime.serving import serve
from runtime.settings import get_settings
from sandbox.app import SandboxConfig, create_app


def main() -> None:
    settings = get_settings()
    config = SandboxConfig(
        latency_ms=settings.sandbox_latency_ms,
        error_rate=settings.sandbox_error_rate,
        timeout_rate=settings.sandbox_timeout_rate,
        timeout_seconds=settings.sandbox_timeout_seconds,
        seed=settings.sandbox_seed,
        processing_delay_seconds=settings.sandbox_processing_delay_seconds,
        managed_factor=settings.sandbox_managed_factor,
        sftp_port=settings.sandbox_sftp_port or None,
        sftp_host=settings.sandbox_host,
        sftp_root=settings.sandbox_sftp_root or settings.data_dir / "sandbox" / "sftp",
    )
    # Under the data dir, so `make run` again finds the carriers as it left them.
    state_file = settings.sandbox_state_file or settings.data_dir / "sandbox" / "state.json"
    serve(create_app(config, state_file=state_file), settings.sandbox_host, settings.sandbox_port)


if __name__ == "__main__":
    main()
