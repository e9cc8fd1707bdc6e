"""Migration paper_venue (both dialects)."""

from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = True

_SQLITE_UP = r"""
        CREATE TABLE IF NOT EXISTS "paper_venues" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "version" INT NOT NULL,
    "state" JSON NOT NULL,
    "updated_at" TIMESTAMP NOT NULL,
    "account_id" INT NOT NULL UNIQUE REFERENCES "exchange_accounts" ("id") ON DELETE CASCADE
) /* A paper account's simulated exchange, what is not an order or a trade: balances, positions, leverage, the last */;
        CREATE TABLE IF NOT EXISTS "paper_orders" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "seq" INT NOT NULL,
    "open" INT NOT NULL,
    "data" JSON NOT NULL,
    "account_id" INT NOT NULL REFERENCES "exchange_accounts" ("id") ON DELETE CASCADE,
    CONSTRAINT "uid_paper_order_account_a812f9" UNIQUE ("account_id", "seq")
) /* One order of a paper account as its venue holds it (paper_state.order_to_json); `seq` is its id "O{seq}". */;
        CREATE TABLE IF NOT EXISTS "paper_trades" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "seq" INT NOT NULL,
    "symbol" VARCHAR(40) NOT NULL,
    "data" JSON NOT NULL,
    "account_id" INT NOT NULL REFERENCES "exchange_accounts" ("id") ON DELETE CASCADE,
    CONSTRAINT "uid_paper_trade_account_c1f715" UNIQUE ("account_id", "seq")
) /* One execution on a paper account (paper_state.trade_to_json); `seq` is its id "T{seq}" and the fills cursor. */;"""

_POSTGRES_UP = r"""
        CREATE TABLE IF NOT EXISTS "paper_venues" (
    "id" SERIAL NOT NULL PRIMARY KEY,
    "version" INT NOT NULL,
    "state" JSONB NOT NULL,
    "updated_at" TIMESTAMPTZ NOT NULL,
    "account_id" INT NOT NULL UNIQUE REFERENCES "exchange_accounts" ("id") ON DELETE CASCADE
);
COMMENT ON TABLE "paper_venues" IS 'A paper account''s simulated exchange, what is not an order or a trade: balances, positions, leverage, the last';
        CREATE TABLE IF NOT EXISTS "paper_orders" (
    "id" SERIAL NOT NULL PRIMARY KEY,
    "seq" INT NOT NULL,
    "open" BOOL NOT NULL,
    "data" JSONB NOT NULL,
    "account_id" INT NOT NULL REFERENCES "exchange_accounts" ("id") ON DELETE CASCADE,
    CONSTRAINT "uid_paper_order_account_a812f9" UNIQUE ("account_id", "seq")
);
COMMENT ON TABLE "paper_orders" IS 'One order of a paper account as its venue holds it (paper_state.order_to_json); `seq` is its id \"O{seq}\".';
        CREATE TABLE IF NOT EXISTS "paper_trades" (
    "id" SERIAL NOT NULL PRIMARY KEY,
    "seq" INT NOT NULL,
    "symbol" VARCHAR(40) NOT NULL,
    "data" JSONB NOT NULL,
    "account_id" INT NOT NULL REFERENCES "exchange_accounts" ("id") ON DELETE CASCADE,
    CONSTRAINT "uid_paper_trade_account_c1f715" UNIQUE ("account_id", "seq")
);
COMMENT ON TABLE "paper_trades" IS 'One execution on a paper account (paper_state.trade_to_json); `seq` is its id \"T{seq}\" and the fills cursor.';"""

_SQLITE_DOWN = r"""
        DROP TABLE IF EXISTS "paper_venues";
        DROP TABLE IF EXISTS "paper_trades";
        DROP TABLE IF EXISTS "paper_orders";"""

_POSTGRES_DOWN = r"""
        DROP TABLE IF EXISTS "paper_venues";
        DROP TABLE IF EXISTS "paper_trades";
        DROP TABLE IF EXISTS "paper_orders";"""


def _is_postgres(db: BaseDBAsyncClient) -> bool:
    return db.capabilities.dialect == "postgres"


async def upgrade(db: BaseDBAsyncClient) -> str:
    return _POSTGRES_UP if _is_postgres(db) else _SQLITE_UP


async def downgrade(db: BaseDBAsyncClient) -> str:
    return _POSTGRES_DOWN if _is_postgres(db) else _SQLITE_DOWN


MODELS_STATE = (
    "eJztXWl34rYa/is6fLnTc7jThKzD/UQSMkOHAJeQdtrS4xG2ADfGdr0kob3z368kL3iRjW"
    "0249GXHCLp9fK8svTu+qe20CSkmO9btiRbXW1Wa4J/aipcIPwj1lcHNajrqx7SYMGJQgdD"
    "MkpQ3GET0zKgaOGOKVRMhJskZIqGrFuypuJW1VYU0qiJeKCszlZNtir/ZSPB0mbImiMDd/"
    "z+B26WVQm9IdP7V38WpjJSpNDzyhK5N20XrKVO2zqqdU8HkrtNBFFT7IW6Gqwvrbmm+qNl"
    "1SKtM6QiA1qIXN4ybPL45OncV/XeyHnS1RDnEQM0EppCW7ECrzsRVm01Qej1R8JjeyQItR"
    "wAiZpKwMWPatK3n5FH+Hfj9Pzq/Prs8vwaD6GP6bdcfXNuvQLGIaTw9Ea1b7QfWtAZQTFe"
    "gYq5qBmChRQ0M+BCYGF8I88SYWaSr0fdwzgAuwuqj7o3ZAX7aqrtD/cPjcbZ2VXj5Ozy+u"
    "L86uri+sRnQLwrjRM3nY+EGXiAhr8c55vyuBPiBnnOGAtu59BIZIBLEUEdv0wG1GOT/dCw"
    "L+CboCB1Zs3xv5fnKYj+3BrefmoN312e/xCGtef2NGhXGGBt8icSLQekHChHyPYHda22F6"
    "DPGhmAPmskAk26mECz1pO1MDNXkeMHefuzWUIWlJ2NOgzxT4/9HhviAEkEYEkWLfA/oMjm"
    "ES7XKcgSLMiVF6b5lxJE9N1D60sU7Ntu/4Zio5nWzKBXoRe4iSAvGohgI0ArDv4d7rHkBW"
    "IzIEwZ5YFL+t77sZ0pv1eBBb+f1FeVpXvfFM6MOg/tx1HrYRBiz11r1CY9Ddq6jLS+u4yw"
    "zL8I+KUz+gTIv+C3fq8d5aI/bvRbjTwTtC1NULVXAUoBiLxWD8YQ020TGcwVLVE8ClBUSC"
    "jaSBgl4v30mSmLErTi4N5rBpJn6me0pBh38BNBVWTtw65C8+Re5riw/ebNHa919YgGfPXV"
    "oeCUwq+OXxhZ9OXx/UHvqdutUYQnUHx+hYYkhKAmPVpDi7T4Y+Ndi8Yi2gJVOKPokNcgD+"
    "2i3n4T51CdoZYoajZ9+pimGR1ST1M4kTtYgM5oc/uK5+/+jMNzAim1P7gmekBN1GN4HoEx"
    "SFNB/adxkkFibJwkSoykKyy3LKDxjNL0n7ZqL2LrbAjzyCXKDHvtcdAfNYGpa9ZYffylNc"
    "C/X6FeK8CKLLJ7sugek9ydBSfHTPcJyox3aRQjqMvCM1oKSBXjII/QW5I1K0xWCOpyihVM"
    "8bv9ZZSuGPnSd7ff++gNj2pLYeRNhBUcKy/wYSqOe37cdWia+tyAJsqLfZyS458ff7JszF"
    "2pLuuaHqSpnLXr9DLDon4a1eZXizrpCkMsm4IOdZaKeKNpCoJqgvwdIIugPMF0u4LZb9nv"
    "5L7p97uhyX3Tic7ep4ebNoaeIo8HyVaCM4KiJkygQsTAXEbGOCW3NRa3NTo6fhFbY5hyC7"
    "bG4+FEmWyLHiapxkUFmpbwggwZv00RXrPoOcfLzPHj8iHsVz/kToTtORFKx9wqeRHKBu6m"
    "boTb1uNt666d5kVYQT2VFZb3+cYlu/88RApMiE9xYb7Hl6gQzOEYCENCxob49Mk1qgqQoy"
    "dsA6YBudLPSLXRdwAY7pdYClkxwEbkalUFbKJZGwL1aBFMZssb7Rj32kSQcrmCoxPwhcyb"
    "ZFj7Khpp+E+eWXi0qggb2hyOc7oDMrzl3s6Y7CL3t99tu8XhykFP1xoiKHDn+CGd4z4bYt"
    "Amm5eDNNxrmMFrqBuyyFjW7pAoL6CSYOr0aKJauEP03iU+QrRT0L1r33YeWt13Z5f10+uI"
    "Hdl3hsdiD+DCW1Ry4Lsi4gCvA3iK8s5el+Iw0J4cEa6CaBsGUsVlngU4SlcFv+qunXwGgo"
    "r8N5IEXWXEx6RO5igpn9Wps5qpGKWkelksR95RWyD3nNzF7f3JDKmuvd/VpfKZ/MNEVfrm"
    "NtSQIsbVfKgGSTim6z0pmmdK3dCVUjWTbD3iSwnOq5AzZYgXj2HndlRjrQhbAJaRUFFRiM"
    "MLYgLIh0l8+WjIUhe9IKYRb9VZT7PkzfAwLFW/oN3Y8yaO7ZrymBvyDmrIc3iQA1dvPN+w"
    "WCGK3GK3SxUR7z9W4Twhn3iPoc2ypHgPkjlHqHPXbTcBoRyr7d5o+Ksw6LZu23dNgFTLWA"
    "q6AkUkeX33nW531Uc8MLTvS2e0InuTLZ/qtv8w6LZHpF3UFjqNx8Strd5t27mQSMBzrnLf"
    "6tCmKZTx/7VsX1TYHpOljsNpch2H01gdB+c9RUVGCTpMSnJenLR6FrDteyHo9CkGeIyS47"
    "0eb1uXCpplwpTcLFMWswwj+pYVGJLPeLAi4JLYetOBq3FsqN9WM/amHtFtVzMrbyTmLtXa"
    "nmbJU1mE7lvHNNtQfz1NuVUDI7Opt7XRHAHNtibaWxO8GrJlIRXIKsAaLTDxY2AYoWo6pc"
    "8ANGm7YwkBsgUMpGuGZdYBfhL5BRlIApMlwCj/6DwJMt5HZau93JCXPiyXKv6MXyuPeOWN"
    "r2Aszfbrv+lwqWiQgW9a1qBPslG6YNmg3n++oGTrpI5BnskdItrODD/s4hHWiz+cZlGMP5"
    "wma8akL24dsRlO9OzmEZvlUt/aehKDu6YjVSKg5cO8Nmj37jq9j03g0o/Vx3aP1FXBimbU"
    "ajFW74b9wYA0SIam68XsGGkLu8etq0ReXcUiz/B+vtBZAQ/JHtgAyf4E/l0Fj2zb7qqiN0"
    "twISqgODPIeapqeZTleBADTS5GhqEx3MHJlUXCVFWwRe27qoirUCTs5Os3mSB9ifGv/fep"
    "/US2DHwTm+whj96OYwZ2rMPuITrEKp5Atrwcu0iYiO8jsZA4BeK1XRImuWTVMFWJ53VptD"
    "EPsQKhhyFKvkuXeZfmAabJH9hxejKyBJiS3aUAywNk/Ksu81fNC4bwgiEl8FJtUDBkl24q"
    "J7aY4Z/yg46THVOrwhP8QKuj+pjrKV4dN/4lOT0gTa+IkVbOEr6LeCW3UH8RyJnEO9Loqg"
    "S6uVxMtFwFxFcUFfRfnmcplH+eXCg/HvpqaErhyFePtsxA12g4qxvHOlYHvw5bD527JtCX"
    "BlzI0lgdtT63hcGwf98Z4U9HH6uPo/5A6PYfH5vAVHD/sNXpUhsd4YpC3UK3uLvdBKKimW"
    "isfhx27gT3NjTBwb2X0/6FXNdpfpOtIga+0yxMP01m+mmM6YqXqZFxT/bH88N94rY9E/2V"
    "A0p3NDeRxmCUpeIh+C5tqReimye8PkzsJbH6d7vE5O/UPTrwCR0UrIK4e7Slxv2hNfzcxm"
    "uwc57LWO12HsiSrMgL2XJXe2+IaWm64IwrtFBnCr5Iib2IhV4cNu+nZAv39itDGPJshqXx"
    "IijHaDnaa9DmZZF2Xb6HJmnlBHhFxMvIpE/fF/zurFPb0ufvioovEGsQNpBki0jQiPcqhn"
    "Lq0ScRSn76SY7TT77j6M4+bmoCDf/vqvR3rk7vZ66uEldJ27D9U/uWprgaiBzg7WTEDjpD"
    "JxtWlw3S8tT73Ov/gi9sq8+q9qoWkSSvMwiS14ly5DWj2JjpZK9ktaKtKCp3YNMOLMN5Aw"
    "Z5rOAGsYI8+iN5olc3+oNnL1eN64ygkFj2Mi8qtxtjK88K3xxPnhW+y6xwXlKuJCXl+ClI"
    "2zpdJGfEV+DMEEbYV/hEkeTYr8BBJhlrErQApQHuvPmXCUx5YSuEW8ALY6mD1zm0gGwCVb"
    "MAVAENa8F/AQT0OIYm8E5FrQMsE8i0JkIdEEcysYfVaWUBkjcV1Y73fPuxitV7SUFgii9P"
    "buuEj+BrSnSMLAET4TlILgXeYRVSVtGP3mP86IBLC4C9p7x4JD9J4QSSr/zDe/AV38/E9/"
    "4KZob2aoLJcqxqKgKvsjUH5GGWwH+jVTUGMiJYiIGOJk/jvCZ9NvKWgF7TIlC4RRoszRbn"
    "SOJlGEoYsOdOhRzIBih4vADLbsmwxieXXUiq08eLLjRzFF3genjyDOd6+M718KPfIWJaY5"
    "50ggyKkHcm3f7UoIOyZAtKEDuxY0uie2LaBuMgz3VCfI40DjINPKF4ioXikEhN5FPZMgFV"
    "CsBcw29Eqnu9C0qzTpg6XhD+NDX1h/+Ar1gK/koEbkKIheJxrf8Pbvo2rsVrjO353utO9i"
    "MRl7wW+CEl35JHyJYe2cBJFTpiKBCpsREeyR6DIry5e7QxEWQm51EtvPFcs9hAsyiNjFmB"
    "NSPFN8FN6HuQHveWFhw93jxV0vRPQF8naa4OXs8maWLeiTY1VZKysRGJLyTbOWf1psl2I1"
    "e2802w1O0ARNswNUZB2/3fnsubZVjhuLy5FyMrT7/dbfotlzS5pHnUqwWXNL8XSdN1ozNF"
    "TK8vXbb0HPGZBMtkaLlju2TiFhcSdiskHFdqfG2qOC7ePMk5993WCF8MU45VkgrQBIpGC7"
    "B/6g9JYvZcMwqlZF9k4MVFIisu4pz4O28GoEfC0yubGdIrndopOSGO0fJUyzVou9VvhAQB"
    "LbnOc5SOxyVFVWZLJ7YmVqJwIqpBEg5oDFC37FIeNTlIs5GqfDwLwU40ZQNBBe9fkqCrDA"
    "EvdVGOkvL9L3VFniLEiK1PL93gknBkU5HlEYvJS3V1IxYPnuF29Cr/liIVmblwOaMUN8yE"
    "O4oIxVyno25kyQuiyTDmRcBOtueZ7kABPzq36R3fB15Pseklnxm63uR0DOeH1j79OmgPh4"
    "+dJpjj5zMMU3YKtjq1WouYmrZcs4VbVXdtVUWWhe/PkLpTcogCNNwFu4FiiW8/lWfCHJrz"
    "PFM8QsZrE0VmOaOAesnLezGglgw4ze1AuBu27kfkLFZMO1aHT70erfVl2KpKa30NWk+0vp"
    "cObVrfi9R9HThH71marjunvY7cE11pE63uNRz2h03g12s69J5wmJzH79wIxg8F5YW+SrZd"
    "H6nhhhf6+h65nsVchzcqoxjXw5T8iL/yMDn+bbtyVSEuByk5l8vMZR5euxtHOD8gkx+QWQ"
    "JHxdoDMnnBvp3FgOcr2EdPHaNnd21Ytu8jvlDXOwOsIqiH8+r90hrFQfLreFQFoFzZBIHY"
    "wkAyABtNz/u7HtNgYsFRCnRsVHM4a+lmwvDSeptMsnuWrNPcLVstt6yFd4KZARdMMfBGni"
    "WHmIYJqxPi8qHRODu7apycXV5fnF9dXVyf+JjHu9LAv+l8JPjXg1oTWwanv2PoJzutgjRV"
    "sAPv2mU1lQ3TEvKiHKaqHs6njSzOJDwq+XjBRsyhpGCJ2mYGqycDHaTZo1fQqWK0e5y3ff"
    "TOUZ2v7KvAeVyvT4/tYRMQyrHaunvo9JoASgu50MFHW87Xmiia+IxYe2VayawAFT9KLEfZ"
    "LFKu+oUx21PBXhHxCmXZoTZk81mAooj0Yl4TFj23qpfZqs694clbyHH6Rbk3/HvkepI3PE"
    "e6RWDHtSWZMTPymC1b5BJdbXa0q3u6Zdc1pm9o262u8yEElqpZ8lQWoV+lpThivcClqgqX"
    "l/dSHKUNE5vKCtIu6xC1kCGL8xrDJO721NOM4nA1hlvF97ZTH+pknWQjVvLROlVIlmlcZL"
    "Gj4FGJlhTaF9Hu8UeVA2F3eAXRPT3JkouERyVbYk9i2Uj4jhZiBUokB/cHSHguUs74/o2S"
    "mzfdzL79Hy3WWhk="
)
