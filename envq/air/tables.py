"""Flat tables of the air engine's day datasets (what the store keeps and the CLI writes)."""

from __future__ import annotations

import pandas as pd

__all__ = ["city_days_table", "station_days_table"]


def city_days_table(city_days) -> pd.DataFrame:
    """The city-day dataset as a flat table (one row per city and day)."""
    cols = [v for v in ("aqi", "category", "primary_pollutant", "valid", "valid_all_six",
                        "missing_pollutants", "pm25_24h", "pm10_24h", "so2_24h", "no2_24h",
                        "co_24h", "o3_mda8", "o3_1h_max") if v in city_days]
    df = city_days[cols].to_dataframe().reset_index()
    df["date"] = _day_texts(df["date"])
    df["aqi"] = df["aqi"].astype("Int64")
    return df


def station_days_table(sdays) -> pd.DataFrame:
    """The station-day dataset as a flat table: station, date, aqi (Int64), level, category,
    primary_pollutant, valid."""
    df = sdays[["aqi", "level", "category", "primary_pollutant", "valid"]].reset_coords(drop=True).to_dataframe()
    df = df.reset_index()
    df["date"] = _day_texts(df["date"])
    df["aqi"] = df["aqi"].astype("Int64")
    return df


def _day_texts(dates: pd.Series) -> pd.Series:
    """``YYYY-MM-DD`` of each date: each distinct day formatted once (a year of 2,000 stations
    repeats 365 days 2,000 times)."""
    codes, days = pd.factorize(pd.to_datetime(dates), use_na_sentinel=False)
    texts = pd.Series(days).dt.strftime("%Y-%m-%d")
    return texts.iloc[codes].set_axis(dates.index)
