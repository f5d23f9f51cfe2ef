"""Exit 0 when the test PostgreSQL server answers, 1 otherwise (used by `make test`)."""

import asyncio
import os
import sys

import asyncpg

URL = os.environ.get("INTRO_TEST_PG_URL", "postgres://postgres@127.0.0.1:5432/postgres")


async def main() -> int:
    try:
        connection = await asyncpg.connect(URL, timeout=3)
    except Exception:
        return 1
    await connection.close()
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
