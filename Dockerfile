# One image for every MASH Exchange service; docker-compose.yml picks the command.
FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 MASH_HOME=/var/lib/mash
WORKDIR /opt/mash
COPY pyproject.toml constraints.txt README.md ./
COPY hub ./hub
COPY adapters ./adapters
COPY schemas ./schemas
RUN pip install --no-cache-dir -c constraints.txt . \
 && useradd --system --home /var/lib/mash --create-home mash
USER mash
ENTRYPOINT ["mash"]
CMD ["--help"]
