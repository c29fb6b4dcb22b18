"""Planning: reorder points and low-stock alerts, per-SKU forecasts and their accuracy,
reorder proposals, and the daily stock snapshots storage is billed from (issue 13).

``services`` reorder points, alerts and settings; ``forecasting`` the statsmodels model;
``forecasts`` the nightly run and stored forecasts; ``proposals`` what to order;
``snapshots`` day-end stock and storage usage; ``chart`` the SVG of history and forecast.
"""
