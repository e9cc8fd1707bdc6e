"""Migration notifier_workers (both dialects)."""

from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = True

_SQLITE_UP = r"""
        CREATE TABLE IF NOT EXISTS "notifier_workers" (
    "token" VARCHAR(32) NOT NULL PRIMARY KEY,
    "seen_at" TIMESTAMP NOT NULL,
    "started_at" TIMESTAMP NOT NULL
) /* A running notifier (bot\/notifier_claim.py): the outbox rows it claimed stay its own while `seen_at` is fresh. */;"""

_POSTGRES_UP = r"""
        CREATE TABLE IF NOT EXISTS "notifier_workers" (
    "token" VARCHAR(32) NOT NULL PRIMARY KEY,
    "seen_at" TIMESTAMPTZ NOT NULL,
    "started_at" TIMESTAMPTZ NOT NULL
);
COMMENT ON TABLE "notifier_workers" IS 'A running notifier (bot/notifier_claim.py): the outbox rows it claimed stay its own while `seen_at` is fresh.';"""

_SQLITE_DOWN = r"""
        DROP TABLE IF EXISTS "notifier_workers";"""

_POSTGRES_DOWN = r"""
        DROP TABLE IF EXISTS "notifier_workers";"""


def _is_postgres(db: BaseDBAsyncClient) -> bool:
    return db.capabilities.dialect == "postgres"


async def upgrade(db: BaseDBAsyncClient) -> str:
    return _POSTGRES_UP if _is_postgres(db) else _SQLITE_UP


async def downgrade(db: BaseDBAsyncClient) -> str:
    return _POSTGRES_DOWN if _is_postgres(db) else _SQLITE_DOWN


MODELS_STATE = (
    "eJztXVt32rgW/itavJx2rZxOk6ZphvNEAukwJcABMm1nmOUKW4AnRnZt04SZ0/9+JNnGN9"
    "nY5mZcvWQFSduXT7K07/uf2kJXkGa9aiwV1e7os1od/FPDcIHIP7G+M1CDhuH30AYbTjQ2"
    "GNJRkuYOm1i2CWWbdEyhZiHSpCBLNlXDVnVMWvFS02ijLpOBKp75TUusfl0iydZnyJ4jk3"
    "T88SdpVrGCnpHl/TQepamKNCX0vKpC783aJXtlsLY2tu/YQHq3iSTr2nKB/cHGyp7reD1a"
    "xTZtnSGMTGgjennbXNLHp0/nvqr3Rs6T+kOcRwzQKGgKl5odeN2J5LfVJKnbG0nD1kiSaj"
    "kAknVMwSWParG3n9FH+PfF+eW7y+s3V5fXZAh7zHXLu+/OrX1gHEIGT3dU+876oQ2dEQxj"
    "H1Qyi7op2UhDMxMuJB7GN+osEWYu+WbUPYwDsLugrlH3hviw+0vtcLj/fHHx5s27i9dvrq"
    "7fXr579/b69XoC4l1pM3HTfk8ngwzQyZfjfFPe7IRmgz5nbApu59BMnACXIoI6eZkMqMcW"
    "+7FhX8BnSUN4Zs/Jz6vLFER/awxuf2kMXlxdvgzD2nV7LlhXGGB98heSbQekHChHyA4Hda"
    "12EKDfXGQA+s1FItC0iws0bz/ZCDN3Fzl9kHe/mhVkQ9U5qMMQ/zrsdfkQB0giACuqbIP/"
    "AU21TnC7TkGWYkGvvLCsr1oQ0Rf3jU9RsG87vRuGjW7ZM5NdhV3gJoK8bCKKjQTtOPhN0m"
    "OrC8SfgDBldA5c0lfeP7tZ8gdlWMj7KT2srdz7pszMqH3fGo4a9/3Q9DQboxbtuWCtq0jr"
    "i6vIlK0vAj62R78A+hP83uu2orO4Hjf6vUafCS5tXcL6kwSVAEReqwdjaNKXFjK5O1oiex"
    "SgqBBTtBUzStn76SOXF6VoxcG9002kzvAHtGIYt8kTQSzzzmFXoHlwL3Na2H731o7X6j+i"
    "CZ/W4lBwSZFXJy+MbPby5P6g+9Dp1BjCEyg/PkFTkUJQ0x79Qo+0rMfGuxYXi2gLxHDG0K"
    "GvQR/aRb31LM8hnqGGLOtL9vQxSTM65CxN4ETuYAk6o63dC55/rFccWRNIq/0pJNEjSqLe"
    "hOdhGIM0FZR/Ll5n4BgvXidyjLQrzLcsoPmI0uSfFl4uYvtsCPPIJcoMe23Y743qwDJ0e4"
    "yHHxt98v8TNGoFpiIL757Musc4d2fDybHS1wRlxrs0ghE0VOkRrSSE5TjII/ScpM0KkxWC"
    "upxsBZf9bn0apQtGa+670+u+94ZHpaUw8hYiAo6dF/gwlcA9P+4GtCxjbkIL5cU+Tinwz4"
    "8/3TbmLleXdU8P0lRO23V+lWFTP49K8/6mTrvCEKuWZECDJyLe6LqGIE7gvwNkEZQnhG5f"
    "MK9bDru4b3q9Tmhx37Sjq/fh/qZFoGfIk0GqnWCMIMApaKHnh9ujEmjnQJutUWkCNcp051"
    "LpximFZre4ZtfRqBTR7IYpd6DZPZ2ZKJMm18MkVZWrQcuWviFTJW9TZK559GLGyzzjp2Wx"
    "Oaw0Lkw2uzPZlG5yq2SzKRu42xptbhvD20azlWaz8aGeqhrP1n/jkt19GCANJngDuTDfkU"
    "tUCOawx4mpIHNLfHr0GlUFyJETdgFTn17pN4SX6AcAjPQrPIGsGGAjerWqAjbR7S2BGtoU"
    "k9nqRj/FszYRpFyG9+gC/EbXTTKsPYxGOvmTZxWerCjChzaHmwI7ATm+Cd7JmOyQsD5+d+"
    "2EAH13CLbXUEZBuCIc0xVhPQ0xaJOV+UEaYaPNYKM1TFXmbGtNJKsLqCWoOj2aqBTuEL1y"
    "iU8Q7RR0m63b9n2j8+LN1dn5dUSPvHY9iHl6wIW3qeTA1ycSAG8CeIryrl6X4jjQvj4hXC"
    "V5aZoIy6s8G3CUrgpW7H2bVE0ENfVvpEgG5ngjpS7mKKlY1amrmisYpQTW2TxD3klrIA8c"
    "Sif0/ckTUl19vytL5VP5h4mq9M1tKSFFlKv5UA2SCEw3W1J0T5W6pSmlairZs4gtJbiuQs"
    "aUAdk8Bu3bUY23I+wAWE74SkUhDm+ICSAfJ8zovakqHfQNcZV4fudZmiZvRoYRrvob2o8+"
    "b+LortkcC0XeURV5zhzkwNUbLw4snoui0NjtU0Qk549dOCprTXxAR3JV0bwHyRyR1W52Wn"
    "VAKce41R0NPkv9TuO21awDhG1zJRkalJHi9d21Ox2/j1pgWN+n9sgne1btNdVt777faY1o"
    "u6wvDOaPSVob3duWcyGZgudc5a7RZk1TqJLftWxfVFgfkyVrxnly1ozzWNYM5z1lTUUJMk"
    "xKKGSctHoasN1bIdjyKQZ4jFLgvRnvpaEUVMuEKYVapixqGY73Lc8xJJ/ywCcQnNhm1YEr"
    "cWwp31bT9+YsItv6KyuvJ+Y+xdqubqtTVYbuW8ck21D/WZpwiwMjs4m3tdEcAX1pT/TnOn"
    "gyVdtGGKgYEIkWWOQxCIwQW06iOQAt1u5oQoBqAxMZumlbZ4A8ifoNmUgBkxUgKP/kPAky"
    "X0V5q4PcUCSaLJco/kheKw975Y2voC/N7rPtGXCl6ZCDb1rU4Jpkq3DBskF9+HhBZWnQrB"
    "F5FneIaDcr/LibR1gu/vk8i2D883myZEz74tqRJceInl09suSZ1He2n8TgrhkIKxS0fJjX"
    "+q1us919Xwcu/RgPW12axYYImlGtxRg3B71+nzYopm4YxfQYaRu7N1vvEufqXczzjJznC4"
    "Pn8JBsgQ2QHI7h35fzyK71rhg925ILUQHBmUMuQlXLIyzHnRhYcDEyTZ1jDk7O4xKmqoIu"
    "6tA5XFyBIuEk33zIBOlLjH/tvw+tB3pkkJss6Rky9E4cK3BiHfcMMSAR8SR65OU4RcJE4h"
    "yJucRpkOztijTJxauGqUq8rksjjXmIFXA9DFGKU7rMp7RwME3+wE7TkpHFwZSeLgWmPEAm"
    "vuoyf9UiYYhIGFICK9UWCUP2b6ZC5kfdfGQ2lQRD1XrE2WZTFXnRJzY4o7WqAcwlxgRk4N"
    "GDF0Hrj8SYqFfG6mWdWY4cQxMw9SeLmo9cFguQBbYivy2gP2HwNFc1BL5YCGGyS38BqgWm"
    "ZFOZx01XB7/7FnYsW39EuYpJrQkqp5LeFZOfbN9yZy8/Y7AmqyAjWCXOgHyyZjF+P0xZwW"
    "muGL8f416Oc9g6gTycM3Yd4ZN8tPpZnkStzpPinNOOGNfZNDkWL02JFyOt3Bm/D+dgtwZR"
    "Eci5xHtSn1YJdGu1mOi5aqP4FBV0FrrMUgPoMrkGUDzOxNS1wmEmHm2Zga6x2BE3aGSM+5"
    "8Hjft2sw6MlQkXqjLGo8aHltQf9O7aI/LpGGM8HPX6Uqc3HNaBpZH+QaPdYQYxOisa88G4"
    "Jd2tOpHfdAuN8ftBuym5t2HRhO69nPZP9LpO87NqF7GmnWeZ9PPkST+PTbrmhUVmPJPX40"
    "XdwrghzUJfc0Dpjhb2yBiMqlI83s2lLfVGdPNA9ofJckVN7J0Ota87SQaPXHyMgVUQd4+2"
    "1LjfNwYfWmQPdkrVjXGnfU+3ZE1dqLa723tDLFs3JGdcoY06k6djiqNjzM/xuEG2Jdu4d5"
    "+GyVRnM8KNF0E5RivQ3oC2yEG471x5LCI6J8A+kcjZlr58v5F35xWkTV+/PpXYIDYgbCJl"
    "KSNJp6rjGMqpZcYilKLUWI5SYz9wKEWPNNWBTn67In3TlenXaSL8LBG0bdD6tXXL8kmY6C"
    "8k2076iX574KSeMFSTtjx0P3R7H8mFl/gR60+4CCd5nYGRvE7kI685mT0tPZfx16eoXC3K"
    "PWiG83rnC8f8LRzzhatl8kKvlulVpAqp8qxz/CxiqUJEBtf9KFtFCpbt8RQpWPaZgkXkby"
    "1J/lZRcnBXpbxyenwFCnRx3L7C5buSfb8CVcMyu1QzGuCum39ZwFIXS43OFvDcWM7A0xza"
    "1DcZ6zaAGDC3FvIXQMBqH9WBV4L8DBCeQGUJiM4ANSRTfdgZc4emQcpR6fjAtx9jIt4rGg"
    "JTcnl6W8d9hFxTYWNUBViIrEF6KfCCiJAqRj95j/GTAy7LtvmKzcWQ/kuzFNHkIC9fgS/k"
    "fha59xcwY07fk9UY6xiBJ9WeA/owK7B+Iz/1ER0RzHrERjP/cfaa7NnoWzqO5DaFws2IZO"
    "tLeY4UkfOohA577lLIgWyAQvgL8PSWHG18co6jpKS4IsNRPUeGIyGHJ69wIYfvXQ4/+RNi"
    "q3CCDIKQVwD2cGLQUadkB0IQP4pyR6x7YtgGp2r2JiY+RxgHXQYeUzwlTHGIpab8KY02ZE"
    "IBmOvkjWg04osgN+u4qZMN4S9Lxy//Q+MRv7JYREpImOJxrfcPafo+rsWjIg98701ldKnH"
    "ZbTwRmgANQDWyIBQYzRG4k/BLB+SWS65U23pkQ1UkjJ4Yb+p7hQeyQH9KLy1e7JuFCUIxy"
    "qZXXjfVne6d+SR/7zxQvzbQvwrjSBw7MW9XwOSsHMcgMU/WOy2z+uPqNq2lioOOEMyiANM"
    "BZxDHCBzJy+ZPpkm0o+w5SEGnF05lQEfuQz4Wk/ObENAXpqWzknxf/jbby0U+GGkbGhEOv"
    "B7yRoVooEQDU4IWRFcfbDg6rLXed+zrefARd6FQCAEgpPem4VA8KMIBK5LSo0nCXh96SKA"
    "59SSif9PhlY4iZSMuRUs2X5ZstNKM1Gbao67RJ5At7tOY0QuRijHmIbV1IGms8pBv/QGNM"
    "nBXDcLpTd4m2Eu3iZOxdv4TPydN5rWIxGhyvUMocpOHqKcEMdoRdjyBrTdTFJSAoOWXKAk"
    "SlcZuW9nCgrboCpBXtB9sggdIBGAxgB1U5jlEZODNFuJyqezEexFUjYR1Mj5pUgG5jB4qZ"
    "tylFScf6k78hQhjuItPQ2KSyKQTUVWeP8mb9XV9f49erToyYv8O/L65caV5vT43TKq9CS8"
    "fRNiSvfg6RtEk6PMi4CdrM+z3IESeXSh0zu9D/wsRaeXXOx+s8rpFArf13753G8NBsN2Hc"
    "zJ85mmpTrJj528x0VUTTvOfyS0qvvWqiLbJvfncN0p8XgBGmGC3UKwJLefqjNpDq15niUe"
    "IRN5viKrnFOMoOSp8jhQKyac5jYgNAeNu1EdMNoxHjx0uyxvnlvrbIz7jQeWK8+AS5Yrj+"
    "ZQ7js1o23dMNgY1kYHsSaWKW8w6A3qYJ377NhnwnHih39wJZioZi+S5pXsuD5RxY1Imvcj"
    "znoWdV2JahOe0K5b7kmOf9suX1VoloOUYpbLPMvCvXY/hnBR2V1Udi+BoWJjZXeR/HJvPu"
    "D5kl+yCn6sDt6WKTDfkwt1vHp6FUE9nHBinaamOEjrnDhVAShXNEHAtzAQDMBH07P+bsY0"
    "GFhwkgwdH9Ucxlp2mHCstN4hk2yepfu0MMtWyyxrk5NgZsIFlw1MjdIME1bHxeXA8Zr0o2"
    "L/x9BPNloFaaqgB963yWqqmpYt5UU5TFU9nM8vshiTyKjkUp0XMYOSRjjqJddZPRnoIM0B"
    "rYJOeq/947zrMlYnVat8LQLnMb0+DFuDOqCUY9xo3re7dQCVhVqoiNiO47Ummi4/It5ZmZ"
    "ZLLkAlyvLlyCdHU79/46z2VLB9IpG6LzvUpmo9SlCWkVHMasKjF1r1MmvVsW6r05Wjzil6"
    "oESvccCDBbqF43OcKw1acZ7QjfFo0Gi2hnWngoQ1xs1Gu/O5DhSoOsVTc/NSV1lYqehsBz"
    "ipq+hBI3wVkqE/Tau18FX4EWc9yVchRzBMgB9aKipnZeRRKjfoJTr67GTP3nS9u2vq2FLz"
    "Xl3TUJwDUGW4zqFTHLFu4FJVhcuLSiqO0pZhZ2UFaZ9ZohrIVOV5jWOwcHvO0kwW0B8jbB"
    "YHO6mPVUMsWcWYXESsCqFMF2+zaLnIqET5g/VFdC/ko8qBsDu8guiev84SKUZGJUt3r2Ox"
    "YuSONuK5sSSHXgRIRKRYzuiLrULPtz3Mvv8fhYnGjQ=="
)
