"""Migration account_deleted_notification_claims (both dialects): accounts deleted by the old "deleted#" label
prefix get deleted_at; notifications held by a notifier (the old "queued:"/"sending:" marks in last_error, the
"_parts_sent" payload key) get the new columns."""

from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = True

_SQLITE_UP = r"""
        ALTER TABLE "exchange_accounts" ADD "deleted_at" TIMESTAMP;
        ALTER TABLE "notifications" ADD "parts_sent" INT NOT NULL DEFAULT 0;
        ALTER TABLE "notifications" ADD "claimed_at" TIMESTAMP;
        ALTER TABLE "notifications" ADD "delivery" VARCHAR(7) /* QUEUED: queued\nSENDING: sending */;
        ALTER TABLE "notifications" ADD "claimed_by" VARCHAR(32);
        UPDATE "exchange_accounts" SET "deleted_at" = CURRENT_TIMESTAMP WHERE "label" LIKE 'deleted#%';
        UPDATE "notifications" SET "delivery" = 'sending', "last_error" = NULL
            WHERE "status" = 'pending' AND "last_error" LIKE 'sending:%';
        UPDATE "notifications" SET "delivery" = 'queued', "last_error" = NULL
            WHERE "status" = 'pending' AND "last_error" LIKE 'queued:%';
        UPDATE "notifications" SET "parts_sent" = CAST(json_extract("payload", '$._parts_sent') AS INTEGER),
            "payload" = json_remove("payload", '$._parts_sent')
            WHERE json_extract("payload", '$._parts_sent') IS NOT NULL;"""

_POSTGRES_UP = r"""
        ALTER TABLE "exchange_accounts" ADD "deleted_at" TIMESTAMPTZ;
        ALTER TABLE "notifications" ADD "parts_sent" INT NOT NULL DEFAULT 0;
        ALTER TABLE "notifications" ADD "claimed_at" TIMESTAMPTZ;
        ALTER TABLE "notifications" ADD "delivery" VARCHAR(7);
        ALTER TABLE "notifications" ADD "claimed_by" VARCHAR(32);
        COMMENT ON COLUMN notifications."delivery" IS 'QUEUED: queued\nSENDING: sending';
        UPDATE "exchange_accounts" SET "deleted_at" = CURRENT_TIMESTAMP WHERE "label" LIKE 'deleted#%';
        UPDATE "notifications" SET "delivery" = 'sending', "last_error" = NULL
            WHERE "status" = 'pending' AND "last_error" LIKE 'sending:%';
        UPDATE "notifications" SET "delivery" = 'queued', "last_error" = NULL
            WHERE "status" = 'pending' AND "last_error" LIKE 'queued:%';
        UPDATE "notifications" SET "parts_sent" = ("payload"->>'_parts_sent')::int,
            "payload" = "payload" - '_parts_sent'
            WHERE "payload"->'_parts_sent' IS NOT NULL;"""

_SQLITE_DOWN = r"""
        ALTER TABLE "exchange_accounts" DROP COLUMN "deleted_at";
        ALTER TABLE "notifications" DROP COLUMN "parts_sent";
        ALTER TABLE "notifications" DROP COLUMN "claimed_at";
        ALTER TABLE "notifications" DROP COLUMN "delivery";
        ALTER TABLE "notifications" DROP COLUMN "claimed_by";"""

_POSTGRES_DOWN = r"""
        ALTER TABLE "notifications" DROP COLUMN "parts_sent";
        ALTER TABLE "notifications" DROP COLUMN "claimed_at";
        ALTER TABLE "notifications" DROP COLUMN "delivery";
        ALTER TABLE "notifications" DROP COLUMN "claimed_by";
        ALTER TABLE "exchange_accounts" DROP COLUMN "deleted_at";"""


def _is_postgres(db: BaseDBAsyncClient) -> bool:
    return db.capabilities.dialect == "postgres"


async def upgrade(db: BaseDBAsyncClient) -> str:
    return _POSTGRES_UP if _is_postgres(db) else _SQLITE_UP


async def downgrade(db: BaseDBAsyncClient) -> str:
    return _POSTGRES_DOWN if _is_postgres(db) else _SQLITE_DOWN


MODELS_STATE = (
    "eJztXVmX2jgW/is+PGXOYTIFtYY3KKiEDgUMUJOku/r4CFuApozt2KJSdE/++0jeF9lgsx"
    "lHL3UKSdfLJ1nS/e6ivytLTYaK+b65khHuafNKQ/i7ooIlJP/E6qpCBei6X0MLMJgqVmNA"
    "W4mK02xqYgNImFTMgGJCUiRDUzKQjpGmklJ1pSi0UJNIQ6TO/aKVir6voIi1OcQLaJCKP/"
    "4kxUiV4Rs03Z/6izhDUJFDz4tkem+rXMRr3SrrqvjBakjvNhUlTVktVb+xvsYLTfVaIxXT"
    "0jlUoQEwpJfHxoo+Pn0651XdN7Kf1G9iP2JARoYzsFJw4HWnol9WEcX+YCKOOxNRrGQASN"
    "JUCi55VNN6+zl9hH/Wa1e3V3eXN1d3pIn1mF7J7U/71j4wtqAFT39S+WnVAwzsFhbGPqik"
    "FzVDxFCBcwMsRRbGLTRPhJkpvhl1F+MA7A6oHupuEx92f6gdD/cP9frl5W394vLm7vrq9v"
    "b67sLrgHhVWk+0uh9pZ5AGGvly7G/K7Z1Qb9DnjHXB/QIYiR3gSERQJy+zBeqxwX5q2Jfg"
    "TVSgOscL8vPmKgXR/zRH95+ao3c3V/8Iw9p3aupWVRhgbfpfKGEbpAwoR8SOB3WlchSgL+"
    "tbAH1ZTwSaVjGBZs0nG2FmziLnD/L+R7MMMUD2Qh2G+LfxoM+GOCASAVhGEhb+JyjIPMPp"
    "OgVZigW98tI0vytBRN89Nr9Gwb7vDVoWNpqJ54Z1FesCrQjykgEpNiLAcfDbpAajJWR3QF"
    "gy2geO6Hv3n/0M+aNuWMj7yQNVWTv3TemZSfexM540H4eh7mk3Jx1aU7dK15HSdzeRLvMu"
    "InzpTj4J9Kfw+6Dfifai127ye4U+E1hhTVS1HyKQAxC5pS6MoU5fmdBgzmiJ26OARIk2RT"
    "ttRun2fvbC3ItStOLgPmgGRHP1M1xbGHfJEwFVYq3DjkLz5FzmvLD96Y4dt9R/RAP88NSh"
    "4JAir05eGGLr5cn9hf5Tr1exEJ4C6eUHMGQxBDWt0epapMRrG69a1pfREqCCuYUOfQ360A"
    "7qnTdpAdQ5bEqStrKePqZpRptU0xRO6DQWgd3a3L/i+Yc34siYgErlT66JnlATdTs8y4Yx"
    "KFNC/ad+scWOsX6RuGOkVeF9yxIYLzBN/+moq2Vsng1hHrlEkWGvjIeDSUMwdQ0/q+MvzS"
    "H5/wfQKzm6Ypu9e/LWPbZztyecDCPdEygy3oVRjICOxBe4FqEqxUGewLckNisslgvqYm4r"
    "mNvvztdJumLk7b57g/5Ht3lUWwojb0Ki4OCswIelOO7ZcdeBaeoLA5gwK/ZxSY5/dvzptL"
    "FwdnXbzulBmdKxXbWbLSb1WlSb9yd1WhWGGJmiDnSWitjSNAUCNWH/HRCLoDwlcoeC2Ss5"
    "7uBuDQa90OBudaOj9+mx1SHQW8iTRggnGCMs1MQpUOg2MBPJGJfkXGN+rtHW8fNwjWHJPX"
    "CN59MTReIWXUxSyUUFmFh8hQYib5Onr1nyvMeL3OPnZUM4rn7IjQj7MyIUrnPLZEUoGri7"
    "mhHum+P7ZruTZkXwoZ4hhWV9bjliD59HUAEJ/ikOzA/kEiWCOewDYcjQ2BGfAb1GWQGaan"
    "hHeMaYYjJft7RznAkTQTqkoc764hjWOfdLTDbJeZ/7vs1wwDcIkuvKkE5M3Bh3SmOc1w0x"
    "aJPprKAMt1JsYaXQDSQxzHBtKKElUBKoFVcmuuu3hd47wmeIdgq67c5997HZe3d5U63dRX"
    "grz/gWs3WCpTupZMDXF+IAbwJ4BrOOXkfiNNBenBGuorQyDKhK6ywTcFSuDHacQxsVDAgU"
    "9BeURV1l2ONTB3NUlI/q1FHN3OqnhJZgluHgrBmPIweTcH4xuUPKyy86ulQ2ijEsVKZvbk"
    "cNKULmZEM1KMIx3czcai7XtSN1WzbOrBrhboPjKkTejsjkMereTyqsGWEPwDIcuEsKcXhC"
    "TAD5NI72Hw0k9+ArZJJ4fmU1jcmbk2ZkV/0KD8PnTW021upjTuSdlMiz+yADrm57vmCxXK"
    "I4Y3dIFZGsPzh3XIInfERXSiQr7oNsHZPQbfc6DYFKPqud/mT0TRz2mveddkOAKjbWoq4A"
    "Ccpu3UO31/PrqAXGqvvanfhibwh7UveDx2GvM6HlkrbULf8vUtrs33fsC0kUPPsqD82uVT"
    "QDiPyubPdFhfmYbeLGa8lx47VY3Lj9npKCYIIOkxIMFBctHwO2fyuENXzyAR6T5Hhvxnul"
    "yzlpmbAkp2WKQsswvP1Yrg7ZyANfgO/ENlMHjsaxo35bTm+SakS39UdWVs+vQ6q1fQ2jGZ"
    "KA89YxzTZUX01TbtVAy+3U28pkAQVthafaW0P4YSCMoSogVSAarWCSxyAwAtW0Uy0JwLTK"
    "bSZEQFgwoK4Z2KwK5EnQKzSgLEzXAkH5X/aTQON9dG91lBvyVGvFUsVfyGtl2V657UvoS7"
    "P/fFM6WCsaYOCbFqXkiewUnlQ0qI8fnySvdBo3nWVwh4T2M8JPO3mE9eIPtW0U4w+1ZM2Y"
    "1sXZkRXDiL49PbJimdT3Np/E4K7oUJUpaNkwrww7/Xa3/7EhOPLP6rjTp3kciKIZZS2e1f"
    "ZoMBzSAtnQdD0fj5E2sbu9dZvYV7cxzzOyni91lsNDsgU2IHK8Df+hnEf2zbuq8A2LDkQ5"
    "FGeGOA+NK46yHHdisIIZoWFoDHNwciaDsFQZuKhjZzFwFIqElXzzIhOULzD+lX8/dZ7okk"
    "FusqJryNhdcczAinXaNUQHRMUT6ZKXYRUJC/F1JOYSpwAyt8viNNNeNSxV4HFdGG3MRSyH"
    "62FIkq/SRV6luYNp8gd2npaMbRxM6eqSo8sDYvyrLvJXzRMU8AQFBbBS7ZCg4JBmKtu3mG"
    "Gf8pyOkw1Tfj4AfoDOWX3M1RSrjuP/khwekKZXxERLx4Qfwl/JSQyeB3Km8IE0ujKBbq6X"
    "Uy1TwmJfooT2y6ttEnNfJSfmjru+GpqS2/PVlS0y0BXLndXxY31Wh99GzcduuyHoawMskf"
    "ysTpqfO+JwNHjoTsinoz+r48lgKPYG43FDMBVSP2p2exZHR3tFscxC96S60xAkRTPhs/px"
    "1G2Lzm2sAAfnXnb5V3pdu/gN4TwEX22bTq8ld3ot1umKG6mx5ZrsteeHicS5PRN+zwCl05"
    "pTpDEYkZzfBd+RLfRE1Hoi88N0taasf69HKX8779GJTwSwwMqJuytbaNwfm6PPHTIH2+dH"
    "PKu97iOdkhW0RNiZ7d0mJtZ00W6Xa6Leyvkixfci5npx2rifgk3c+88MYaD5nOzG86Ack+"
    "Vob0Cbp0U6dPoeK0grI8C+EE8jkz58X8m7s06JSh+/vhSfIDYgbEB5JUFRo9arGMqpRy1E"
    "JPlpCxlOW/iFvTsHpKghaOS3o9K3HZ3ei1z1A1dp2ajzW+feCnE1ID0w2I6IHXZHdjSsjg"
    "xa8tT/3B98IRdeqS+q9kPNs5O822IjeZe4j7xjJBszsx3v7UuU7oCYAzDDWR0Gua/gDr6C"
    "3PsjeaCX1/uDRy+XrdcZTiGx6GWeVO4wZCuPCt8dTx4VfsiocJ5SriAp5fipKyc6L2OomS"
    "gpKYFXV03z+9KdVtz1q1yuX9wp5sBOMedli67MFFu3ycKGPfSaE3IxIvmsUt27ISiaFfH8"
    "aTCiltCFZuSygV5v0RfXiV1xHe+Jv7JS7q4It2dsY8+wnZXyWTV8WW7b2IC2424mJmxfkw"
    "Mro3LccSiqy2JdJFMxyzKXfMRDQIQDGgPU8XOMA5qc0yYow8/czp/Thh8LczRvCcg6W37T"
    "KVLMQ+U5spyq/+Wp+pNTymev8scI5SyRhhvI54EKJxr5cxzq+aRdsSPxzI7z3InJC6LJIP"
    "MiYCfzeabTUHTPL+ac3ll94NUUTi85SedmyukcEnZWPn0bdkajcbchLMjzGYaJ7AgpOzgq"
    "D9W0ZycpzqoemlWFGJP7M3bdyXplUIYnS91BsSS3n6G5uADmIssQj4hxZ8DIKGdELBfcn5"
    "YBtWyAWWYDQnvUfJjQ5KdE9lkdPfX7lnOtsVJVy7l22HyyHGp1sLIcammg1dDOdYc1XbfT"
    "q06cFKpWkeVOOxoNRg3Bc5A89ZrAPhgoZb5KOAyIk2AZ5iqehZN71hZsuT5T4oZ71v6Kvb"
    "4NXUcWKiNfr4cleU694nRy/Nt29lW5ejkoyXu5yL3MveQPYwjnGSl5RsoCGCo2ZqTkHvIF"
    "8ZCPHG+e308+dJx6SVAPDVM/JWl+kLzMp2UBKFM0QcC3MBAMwEbTtf5uxjQYWHCWGzo2qh"
    "mMtdZiwrDSuotMsnmWztPcLFsusywmK8HcAEvmNrCF5skupmHB8ri4fKjXLy9v6xeXN3fX"
    "V7e313cXHubxqjTwW92PFP9qUGti78Gt/2PoJxutgjJl4IEPbbKaIcPEYlaUw1Llw7lW38"
    "aYRFol5/OrxwxKCtlRr5jO6slAB2WOaBWE6nFMsPvOdXNWCY09FTiL6fVp3Bk1BCr5rDbb"
    "j91+QwDyEuXKNLTneK2pokkvrCR0qfm7AlI8d1eG3F30oO5XxmhPBdsXOiLW7kblbKE2kP"
    "kiAkmCej6rCUues+pFZtW5NTx5CTlPuyi3hv+KvZ5kDc8QbhFYcVcyYoyMLLRlk16ip83P"
    "dnZPZ3YdMn1Hbre8xocQWKqG0QxJwMvSkh+xfuBSZYXLjXvJj9KOgU1FBemQeYia0EDSos"
    "KgxJ2aahopDvw2nBU/2kp9YFb8FRom0+CUTGIFREoYLFO/3oZHIa0SmRSrLqLdk48qA8JO"
    "8xKiW7vY7gSstCOwYtFI5I6Yech9snN/QITHImX0798puHnXxezn/wEysaCW"
)
