"""`importer serve`: the web console, a coordinator's page over the same library calls as the CLI.

    command   the click command: checks the host, builds where runs send, serves with uvicorn
    app       the pages (starlette + Jinja2), the access and form tokens, the security headers
    upload    a multipart upload streamed into the private folder, with its size limit
    runs      checked sheets and runs: validate_file, import_file in a background thread, the journal

Nothing is imported here, so `importer --help` does not load the web stack.
"""
