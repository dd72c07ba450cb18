"""The reference stack a team following the usual tutorial builds: FastAPI + uvicorn + a
scikit-learn MLP behind one POST /predict. No A/B split, no breaker, no metrics.

It trains a small MLPClassifier at start on the same sample rows the modelgate benchmark sends
(same input width), so each prediction does comparable work. Run it as the tutorial does:

    SAMPLE_FILE=models/digits/sample.json SAMPLE_LABELS_FILE=models/digits/sample-labels.json INPUT_WIDTH=784 \
        python3 -m uvicorn --app-dir bench/reference app:app --port 8200 [--workers 2]
"""
import json
import os
from typing import List

import numpy as np
from fastapi import FastAPI, HTTPException
from pydantic import BaseModel
from sklearn.neural_network import MLPClassifier

WIDTH = int(os.environ.get("INPUT_WIDTH", "8"))
SAMPLE_FILE = os.environ.get("SAMPLE_FILE", "")
LABELS_FILE = os.environ.get("SAMPLE_LABELS_FILE", "")
HIDDEN = tuple(int(h) for h in os.environ.get("HIDDEN_LAYERS", "64").split(","))


def load_rows():
    """Rows of the right width from the sample file (a list of rows, or an object holding one),
    with labels when the file has them; else seeded noise so the app still starts."""
    rng = np.random.default_rng(7)
    rows, labels = [], []
    if SAMPLE_FILE and os.path.exists(SAMPLE_FILE):
        with open(SAMPLE_FILE) as f:
            data = json.load(f)
        if isinstance(data, dict):
            data = next((data[k] for k in ("instances", "rows", "inputs", "features") if isinstance(data.get(k), list)), [])
        for item in data:
            row = item.get("features") if isinstance(item, dict) else item
            if isinstance(row, list) and len(row) == WIDTH:
                rows.append(row)
                label = item.get("label") if isinstance(item, dict) else None
                labels.append(str(label) if label is not None else None)
    if LABELS_FILE and os.path.exists(LABELS_FILE):
        with open(LABELS_FILE) as f:
            given = json.load(f)
        if isinstance(given, list) and len(given) == len(rows):
            labels = [str(label) for label in given]
    if len(rows) < 20:
        rows += rng.random((200, WIDTH)).tolist()
        labels += [None] * 200
    x = np.asarray(rows, dtype=np.float32)
    if any(label is None for label in labels):
        labels = [str(i % 3) for i in range(len(rows))]
    return x, np.asarray(labels)


X, Y = load_rows()
model = MLPClassifier(hidden_layer_sizes=HIDDEN, max_iter=200, random_state=7).fit(X, Y)

app = FastAPI(title="reference predictor")


class PredictRequest(BaseModel):
    features: List[float]


@app.post("/predict")
def predict(request: PredictRequest):
    if len(request.features) != WIDTH:
        raise HTTPException(status_code=400, detail=f"expected {WIDTH} features, got {len(request.features)}")
    probabilities = model.predict_proba(np.asarray([request.features], dtype=np.float32))[0]
    best = int(np.argmax(probabilities))
    return {
        "prediction": str(model.classes_[best]),
        "probabilities": probabilities.tolist(),
        "confidence": float(probabilities[best]),
    }


@app.get("/health")
def health():
    return {"status": "healthy"}
